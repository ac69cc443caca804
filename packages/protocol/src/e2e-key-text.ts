/**
 * An agent's static X25519 public key as text: `pcpk_` and its 32 raw bytes in base64url without
 * padding. Agents register it in this form, the hub stores and hands it out in it, and pins keep
 * it; one decoder refuses every other spelling, so comparing two keys as text is comparing keys.
 */
export const E2E_PUBLIC_KEY_PREFIX = "pcpk_";
export const E2E_PUBLIC_KEY_PATTERN = /^pcpk_[A-Za-z0-9_-]{43}$/;
export const E2E_KEY_BYTES = 32;

/**
 * The raw bytes of a key text: `prefix`, then exactly `bytes` bytes in unpadded base64url. The
 * one spelling of every key text (pcpk_, pcsk_, pcwk_, pcwsk_): anything else is undefined.
 */
export function decodeKeyText(text: string, prefix: string, bytes: number): Buffer | undefined {
  if (!text.startsWith(prefix)) return undefined;
  const encoded = text.slice(prefix.length);
  if (encoded.length !== Math.ceil((bytes * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  const raw = Buffer.from(encoded, "base64url");
  // Stray bits in the last character would give a second text for one key.
  return raw.length === bytes && raw.toString("base64url") === encoded ? raw : undefined;
}

/** The raw 32 bytes of a well-formed key text, or undefined. */
export function decodeE2ePublicKey(text: string): Buffer | undefined {
  return decodeKeyText(text, E2E_PUBLIC_KEY_PREFIX, E2E_KEY_BYTES);
}

export function encodeE2ePublicKey(raw: Buffer): string {
  if (raw.length !== E2E_KEY_BYTES) throw new RangeError(`an end-to-end public key is ${E2E_KEY_BYTES} bytes, not ${raw.length}`);
  return `${E2E_PUBLIC_KEY_PREFIX}${raw.toString("base64url")}`;
}
