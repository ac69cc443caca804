import { createHmac, timingSafeEqual } from "node:crypto";
import { readCookie, SESSION_COOKIE_NAME } from "./session-cookie.js";

/**
 * Session cookies carry an HMAC (keyed by the hub's JWT_SECRET) next to the token. The token
 * alone already only works if its hash is in the database; the signature lets the hub drop
 * forged or garbled cookies without a database round trip, and ties cookies to this hub's
 * secret, so rotating JWT_SECRET signs everybody out.
 */
function signatureOf(value: string, secret: string): string {
  return createHmac("sha256", secret).update(value).digest("base64url");
}

export function signCookieValue(value: string, secret: string): string {
  return `${value}.${signatureOf(value, secret)}`;
}

/** The value, when `signed` carries a valid signature; otherwise undefined. */
export function verifyCookieValue(signed: string, secret: string): string | undefined {
  const separator = signed.lastIndexOf(".");
  if (separator <= 0) return undefined;
  const value = signed.slice(0, separator);
  const given = Buffer.from(signed.slice(separator + 1));
  const expected = Buffer.from(signatureOf(value, secret));
  return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined;
}

/** A Cookie header reduced to the verified session token (or to nothing). */
export function readSignedSessionCookie(header: string | undefined, secret: string): string | undefined {
  const signed = readCookie(header, SESSION_COOKIE_NAME);
  const token = signed === undefined ? undefined : verifyCookieValue(signed, secret);
  return token === undefined ? undefined : `${SESSION_COOKIE_NAME}=${token}`;
}
