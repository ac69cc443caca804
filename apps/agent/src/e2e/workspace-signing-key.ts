import { timingSafeEqual } from "node:crypto";
import { access } from "node:fs/promises";
import { z } from "zod";
import { readJsonFile, writeJsonFileAtomic } from "../config/json-file.js";
import { ConnectError } from "../errors.js";
import {
  decodeWorkspaceKey,
  decodeWorkspaceSecret,
  encodeWorkspaceKey,
  encodeWorkspaceSecret,
  generateWorkspaceKeyPair,
  workspacePublicKeyOf,
} from "./workspace-certificate.js";

const signingKeyFileSchema = z.object({
  version: z.literal(1),
  publicKey: z.string(),
  privateKey: z.string(),
  createdAt: z.string(),
});

/** The owner's workspace key, as its file holds it. */
export interface WorkspaceSigningKey {
  publicKey: Buffer;
  privateKey: Buffer;
  publicKeyText: string;
  createdAt: string;
}

/**
 * Makes a new workspace key in `path` (owner-only). Never replaces one: every certificate it
 * signed, and every agent that installed one, depends on it.
 */
export async function createWorkspaceSigningKey(path: string, now: Date = new Date()): Promise<WorkspaceSigningKey> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new ConnectError(
      "INVALID_INPUT",
      `${path} already holds a workspace key: it was left untouched. Use it (connect workspace-key sign --key-file ${path}), or give another --key-file`,
    );
  }
  const pair = generateWorkspaceKeyPair();
  const createdAt = now.toISOString();
  await writeJsonFileAtomic(
    path,
    {
      version: 1,
      publicKey: encodeWorkspaceKey(pair.publicKey),
      privateKey: encodeWorkspaceSecret(pair.privateKey),
      createdAt,
    },
    0o600,
  );
  return readWorkspaceSigningKey(path);
}

/** The workspace key in `path`; a missing or unusable file is an error that says what to do. */
export async function readWorkspaceSigningKey(path: string): Promise<WorkspaceSigningKey> {
  const file = await readJsonFile(path, signingKeyFileSchema);
  if (file === undefined) {
    throw new ConnectError(
      "CONFIG_UNREADABLE",
      `No workspace key in ${path}: make one with connect workspace-key create, or point --key-file at the file that holds it`,
    );
  }
  const unusable = (what: string) =>
    new ConnectError("CONFIG_UNREADABLE", `${path} ${what}: restore it from a backup (it was left untouched)`);
  const publicKey = decodeWorkspaceKey(file.publicKey);
  const privateKey = decodeWorkspaceSecret(file.privateKey);
  if (publicKey === undefined) throw unusable("holds a malformed publicKey");
  if (privateKey === undefined) throw unusable("holds a malformed privateKey");
  if (!timingSafeEqual(workspacePublicKeyOf(privateKey), publicKey))
    throw unusable("holds a publicKey that is not the privateKey's");
  return { publicKey, privateKey, publicKeyText: file.publicKey, createdAt: file.createdAt };
}
