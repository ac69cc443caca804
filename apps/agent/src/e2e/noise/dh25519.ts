import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";
import { NoiseError } from "./noise-error.js";

/** X25519 keys and shared secrets are 32 raw bytes (DHLEN in the spec). */
export const DH_LENGTH = 32;

export interface RawKeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
}

// node:crypto takes X25519 keys as DER; these fixed prefixes wrap 32 raw bytes into PKCS#8
// (private) and SubjectPublicKeyInfo (public) for the X25519 OID 1.3.101.110. The raw key is
// always the last 32 bytes of either encoding, which is how the exports are unwrapped.
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

function requireKeyLength(key: Uint8Array, what: string): void {
  if (key.length !== DH_LENGTH) {
    throw new NoiseError("INVALID_KEY", `An X25519 ${what} key is ${DH_LENGTH} bytes, not ${key.length}.`);
  }
}

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  requireKeyLength(privateKey, "private");
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]), format: "der", type: "pkcs8" });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  requireKeyLength(publicKey, "public");
  return createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, publicKey]), format: "der", type: "spki" });
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: "der", type: "spki" }).subarray(-DH_LENGTH);
}

/** A fresh X25519 key pair as raw 32-byte buffers. */
export function generateKeyPair(): RawKeyPair {
  const pair = generateKeyPairSync("x25519");
  return {
    publicKey: rawPublicKey(pair.publicKey),
    privateKey: pair.privateKey.export({ format: "der", type: "pkcs8" }).subarray(-DH_LENGTH),
  };
}

/** The public key that belongs to a raw 32-byte X25519 private key. */
export function publicKeyOf(privateKey: Uint8Array): Buffer {
  return rawPublicKey(createPublicKey(privateKeyObject(privateKey)));
}

/**
 * X25519(privateKey, publicKey). A low-order public key makes the shared secret all zeros;
 * OpenSSL refuses to return it, and so does this (Noise allows either), so a peer cannot force
 * a known key.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Buffer {
  const privateObject = privateKeyObject(privateKey);
  const publicObject = publicKeyObject(publicKey);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: privateObject, publicKey: publicObject });
  } catch (error) {
    throw new NoiseError("INVALID_KEY", "The peer's X25519 public key gives no usable shared secret.", { cause: error });
  }
  if (shared.every((byte) => byte === 0)) {
    throw new NoiseError("INVALID_KEY", "The peer's X25519 public key gives no usable shared secret.");
  }
  return shared;
}
