import { randomBytes } from "node:crypto";

const API_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const API_KEY_BODY_LENGTH = 32;
// Largest multiple of 62 that fits in a byte: bytes at or above it are rejected, because
// `byte % 62` over all 256 values would make the first 8 characters more likely than the rest.
const UNBIASED_BYTE_LIMIT = 256 - (256 % API_KEY_ALPHABET.length);

export const API_KEY_PATTERN = /^pc_[A-Za-z0-9]{32}$/;
export const AGENT_TOKEN_PATTERN = /^[0-9a-f]{64}$/;
export const API_KEY_PREFIX_LENGTH = 7;

/** `pc_` + 32 characters uniform over [A-Za-z0-9] (about 190 bits). */
export function generateApiKey(): string {
  let body = "";
  while (body.length < API_KEY_BODY_LENGTH) {
    for (const byte of randomBytes(API_KEY_BODY_LENGTH * 2)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      body += API_KEY_ALPHABET.charAt(byte % API_KEY_ALPHABET.length);
      if (body.length === API_KEY_BODY_LENGTH) break;
    }
  }
  return `pc_${body}`;
}

/** What a listing may show of a key: enough to recognise it, useless to an attacker. */
export function getApiKeyPrefix(apiKey: string): string {
  return apiKey.slice(0, API_KEY_PREFIX_LENGTH);
}

/** 256 random bits as 64 lowercase hex characters. */
export function generateAgentToken(): string {
  return randomBytes(32).toString("hex");
}

/** A session cookie or sign-in link token: 256 random bits as 43 base64url characters. */
export const BROWSER_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * 256 random bits, base64url (43 characters): short enough for a link in an email, safe in a
 * URL and a cookie without escaping, and never mistaken for an agent token (hex) or a key (pc_).
 */
export function generateBrowserToken(): string {
  return randomBytes(32).toString("base64url");
}
