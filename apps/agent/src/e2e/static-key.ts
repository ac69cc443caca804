import { decodeE2ePublicKey, decodeKeyText, E2E_KEY_BYTES, encodeE2ePublicKey } from "@private-connect/protocol";
import { z } from "zod";
import { readJsonFile, writeJsonFileAtomic } from "../config/json-file.js";
import { ConnectError } from "../errors.js";
import { generateKeyPair, keyPairOf } from "./noise/index.js";
import type { StaticKeyPair } from "./stream-handshake.js";

/** The private half as text: `pcsk_` so a leaked one is recognisable (the log scrubber removes it). */
const SECRET_KEY_PREFIX = "pcsk_";

const staticKeyFileSchema = z.object({
  version: z.literal(1),
  publicKey: z.string(),
  privateKey: z.string(),
  createdAt: z.string(),
});

export interface AgentStaticKey extends StaticKeyPair {
  /** The public half as the hub and the pins hold it (pcpk_...). */
  publicKeyText: string;
}

/** The raw public key of a `pcpk_` text; a malformed one is an error saying what was expected. */
export function parsePublicKeyText(text: string): Buffer {
  const raw = decodeE2ePublicKey(text);
  if (raw === undefined) {
    throw new ConnectError("INVALID_INPUT", "An end-to-end public key is pcpk_ followed by 43 base64url characters");
  }
  return raw;
}

function decodeSecretKey(text: string): Buffer | undefined {
  return decodeKeyText(text, SECRET_KEY_PREFIX, E2E_KEY_BYTES);
}

/**
 * This agent's long-term end-to-end key, made on the first start and kept (owner-only) in the
 * config directory. Other agents pin its public half, so a key that cannot be read is an error to
 * fix, never a reason to make a new one: a silently replaced key would look like an attack to
 * every agent that pinned the old one.
 */
export async function loadOrCreateStaticKey(path: string): Promise<AgentStaticKey> {
  const existing = await readStaticKey(path);
  if (existing !== undefined) return existing;
  const pair = generateKeyPair();
  const publicKeyText = encodeE2ePublicKey(pair.publicKey);
  await writeJsonFileAtomic(
    path,
    {
      version: 1,
      publicKey: publicKeyText,
      privateKey: `${SECRET_KEY_PREFIX}${pair.privateKey.toString("base64url")}`,
      createdAt: new Date().toISOString(),
    },
    0o600,
  );
  // Two processes starting at once: the rename of the later one wins, and both use what is on disk.
  const written = await readStaticKey(path);
  if (written === undefined) throw new ConnectError("CONFIG_UNREADABLE", `${path} vanished right after it was written`);
  return written;
}

/** The key in `path`, or undefined when there is none yet (nothing is created). */
export async function readStaticKey(path: string): Promise<AgentStaticKey | undefined> {
  const file = await readJsonFile(path, staticKeyFileSchema);
  if (file === undefined) return undefined;
  const unusable = (what: string) =>
    new ConnectError(
      "CONFIG_UNREADABLE",
      `${path} ${what}: restore it from a backup, or move it away to make a new key (every agent that pinned the old one will then refuse this agent until someone runs connect trust there)`,
    );
  const publicKey = decodeE2ePublicKey(file.publicKey);
  const privateKey = decodeSecretKey(file.privateKey);
  if (publicKey === undefined) throw unusable("holds a malformed publicKey");
  if (privateKey === undefined) throw unusable("holds a malformed privateKey");
  const pair = keyPairOf(privateKey);
  if (!pair.publicKey.equals(publicKey)) throw unusable("holds a publicKey that is not the privateKey's");
  return { ...pair, publicKeyText: file.publicKey };
}
