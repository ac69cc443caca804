import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";
import { NoiseError } from "./noise-error.js";
import { RecentMap } from "./recent-map.js";

/** X25519 keys and shared secrets are 32 raw bytes (DHLEN in the spec). */
export const DH_LENGTH = 32;

/**
 * A local X25519 key pair: the raw 32-byte halves Noise hashes and sends, and the private half as
 * node:crypto's KeyObject, made once. Every stream's handshake runs two DHs with each local key,
 * and rebuilding the KeyObject is most of a DH's cost.
 */
export interface RawKeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
  readonly privateKeyObject: KeyObject;
}

// node:crypto imports an X25519 public key from JWK (RFC 8037: base64url of the raw bytes) about
// ten times as fast as from DER, whose parse goes through OpenSSL's decoder framework; a stream
// pays for one import of a peer's public key per DH.
function publicJwk(publicKey: Uint8Array) {
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString("base64url");
  return { kty: "OKP", crv: "X25519", x };
}

function requireKeyLength(key: Uint8Array, what: string): void {
  if (key.length !== DH_LENGTH) {
    throw new NoiseError("INVALID_KEY", `An X25519 ${what} key is ${DH_LENGTH} bytes, not ${key.length}.`);
  }
}

/**
 * Public keys imported lately. A handshake uses the peer's ephemeral key in two DHs and a peer's
 * static key recurs on every stream with it; public keys are no secret, so keeping a few hundred
 * costs nothing but memory.
 */
const importedPublicKeys = new RecentMap<string, KeyObject>(256);

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  requireKeyLength(publicKey, "public");
  const jwk = publicJwk(publicKey);
  const known = importedPublicKeys.get(jwk.x);
  if (known !== undefined) return known;
  let imported: KeyObject;
  try {
    imported = createPublicKey({ key: jwk, format: "jwk" });
  } catch (error) {
    throw new NoiseError("INVALID_KEY", "The peer's X25519 public key cannot be used.", { cause: error });
  }
  importedPublicKeys.set(jwk.x, imported);
  return imported;
}

/** The raw halves of a private X25519 KeyObject (one JWK export carries both). */
export function keyPairFromKeyObject(privateKeyObject: KeyObject): RawKeyPair {
  const { x, d } = privateKeyObject.export({ format: "jwk" });
  if (x === undefined || d === undefined) {
    throw new NoiseError("INVALID_KEY", "node:crypto exported an X25519 private key without its bytes.");
  }
  return { publicKey: Buffer.from(x, "base64url"), privateKey: Buffer.from(d, "base64url"), privateKeyObject };
}

/** A fresh X25519 key pair. */
export function generateKeyPair(): RawKeyPair {
  return keyPairFromKeyObject(generateKeyPairSync("x25519").privateKey);
}

// PKCS#8 for the X25519 OID 1.3.101.110: this fixed prefix, then the 32 raw private bytes.
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The key pair of a raw 32-byte X25519 private key (its public half derived from it). */
export function keyPairOf(privateKey: Uint8Array): RawKeyPair {
  requireKeyLength(privateKey, "private");
  // A JWK private key names its public half too; DER needs none, and runs once per key here.
  const privateKeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]),
    format: "der",
    type: "pkcs8",
  });
  return keyPairFromKeyObject(privateKeyObject);
}

/** The public key that belongs to a raw 32-byte X25519 private key. */
export function publicKeyOf(privateKey: Uint8Array): Buffer {
  return keyPairOf(privateKey).publicKey;
}

/**
 * X25519(local private key, remote public key). A low-order public key makes the shared secret
 * all zeros; OpenSSL refuses to return it, and so does this (Noise allows either), so a peer
 * cannot force a known key.
 */
export function dh(local: RawKeyPair, publicKey: Uint8Array): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: local.privateKeyObject, publicKey: publicKeyObject(publicKey) });
  } catch (error) {
    throw new NoiseError("INVALID_KEY", "The peer's X25519 public key gives no usable shared secret.", { cause: error });
  }
  if (shared.every((byte) => byte === 0)) {
    throw new NoiseError("INVALID_KEY", "The peer's X25519 public key gives no usable shared secret.");
  }
  return shared;
}
