import { CIPHER_FUNCTIONS, type CipherFunction } from "./cipher-functions.js";
import { HANDSHAKE_PATTERNS, type HandshakePattern } from "./handshake-patterns.js";
import { HASH_FUNCTIONS, type HashFunction } from "./hash-functions.js";
import { NoiseError } from "./noise-error.js";

export interface NoiseProtocol {
  /** The full name, e.g. "Noise_IK_25519_AESGCM_SHA256"; it is hashed into the handshake. */
  readonly name: string;
  readonly pattern: HandshakePattern;
  readonly dh: "25519";
  readonly cipher: CipherFunction;
  readonly hash: HashFunction;
}

function unsupported(name: string, reason: string): NoiseError {
  return new NoiseError("UNSUPPORTED_PROTOCOL", `Unsupported Noise protocol "${name}": ${reason}.`);
}

function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** Parses "Noise_<pattern>_<dh>_<cipher>_<hash>" into the functions this core implements. */
export function parseProtocolName(name: string): NoiseProtocol {
  const parts = name.split("_");
  if (parts.length !== 5 || parts[0] !== "Noise") {
    throw unsupported(name, 'expected "Noise_<pattern>_<dh>_<cipher>_<hash>", like "Noise_IK_25519_AESGCM_SHA256"');
  }
  const [, patternName = "", dhName = "", cipherName = "", hashName = ""] = parts;
  const pattern = lookup(HANDSHAKE_PATTERNS, patternName);
  if (pattern === undefined) {
    const patterns = Object.keys(HANDSHAKE_PATTERNS).join(", ");
    throw unsupported(name, `pattern "${patternName}" is not one of ${patterns} (no one-way patterns, no modifiers such as psk)`);
  }
  if (dhName !== "25519") throw unsupported(name, `DH "${dhName}" is not supported; only 25519 is`);
  const cipher = lookup(CIPHER_FUNCTIONS, cipherName);
  if (cipher === undefined) throw unsupported(name, `cipher "${cipherName}" is not ChaChaPoly or AESGCM`);
  const hash = lookup(HASH_FUNCTIONS, hashName);
  if (hash === undefined) throw unsupported(name, `hash "${hashName}" is not SHA256 or BLAKE2b`);
  return { name, pattern, dh: "25519", cipher, hash };
}
