import { randomBytes } from "node:crypto";
import { hashSecretWithKey } from "../shares/keyed-hash.js";

// RFC 4648 base32 in lower case: valid in a DNS label and a URL path, no ambiguous case. 32
// symbols, so a random byte's low 5 bits pick one without bias.
const SLUG_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
/** 26 symbols of 5 bits: 130 random bits, far beyond guessing, short enough for a DNS label. */
export const LINK_SLUG_LENGTH = 26;
export const LINK_SLUG_PATTERN = /^[a-z2-7]{26}$/;
/**
 * What a listing shows of a slug (and what the audit log records of it): enough to tell links
 * apart, and it leaves 20 symbols, 100 bits, that no list or database copy tells.
 */
export const LINK_SLUG_HINT_LENGTH = 6;

export function generateLinkSlug(): string {
  return [...randomBytes(LINK_SLUG_LENGTH)].map((byte) => SLUG_ALPHABET.charAt(byte & 31)).join("");
}

export function isLinkSlug(text: string): boolean {
  return LINK_SLUG_PATTERN.test(text);
}

/** The only form in which a slug is stored: keyed with the hub's ENCRYPTION_KEY (keyed-hash.ts). */
export function hashLinkSlug(key: Uint8Array, slug: string): string {
  return hashSecretWithKey(key, slug);
}

export function getLinkSlugHint(slug: string): string {
  return slug.slice(0, LINK_SLUG_HINT_LENGTH);
}

/**
 * The slug in what a person pastes: the slug itself, or the link's URL in either form
 * (`https://<slug>.links.example.com/...` or `.../l/<slug>/...`). Undefined when there is none.
 */
export function extractLinkSlug(text: string): string | undefined {
  const trimmed = text.trim();
  if (isLinkSlug(trimmed.toLowerCase())) return trimmed.toLowerCase();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  const fromPath = /^\/l\/([a-zA-Z2-7]{26})(?:\/|$)/.exec(url.pathname)?.[1]?.toLowerCase();
  if (fromPath !== undefined && isLinkSlug(fromPath)) return fromPath;
  const firstLabel = url.hostname.split(".")[0]?.toLowerCase() ?? "";
  return isLinkSlug(firstLabel) ? firstLabel : undefined;
}

/**
 * The URL of a link. With a link domain: `<scheme>://<slug>.<domain>[:port]/`, an origin of its
 * own, with the scheme (and, unless the domain names one, the port) of the hub's public URL.
 * Without: the path form `<publicUrl>/l/<slug>/`, meant for local use.
 */
export function buildLinkUrl(config: { publicUrl?: string | undefined; linkDomain?: string | undefined }, slug: string): string {
  const base = config.publicUrl === undefined ? undefined : new URL(config.publicUrl);
  if (config.linkDomain !== undefined) {
    const [domain, domainPort] = config.linkDomain.split(":");
    const scheme = base?.protocol ?? "https:";
    const port = domainPort ?? base?.port ?? "";
    return `${scheme}//${slug}.${domain}${port === "" ? "" : `:${port}`}/`;
  }
  const prefix = base === undefined ? "" : `${base.origin}${base.pathname.replace(/\/+$/, "")}`;
  return `${prefix}/l/${slug}/`;
}
