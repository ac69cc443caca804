// The one normalization of URL paths for public links: the hub's proxy runs it on every request
// and link creation runs it on every --paths prefix, so a prefix and a request are compared in
// the same canonical form. Paths are compared as lists of decoded segments, never as strings: a
// string prefix would let `/api/v10` pass for `/api/v1`, and `..` or its encodings would walk out.

/** Why a path was refused. `malformed` is a broken request (400); the others are escape attempts (403). */
export type LinkPathProblem = "malformed" | "encoded-separator" | "disguised-dot-segment" | "overlong-utf8";

export type NormalizedLinkPath =
  | {
      ok: true;
      /** The path's segments after dot segments were resolved, each in canonical percent-encoding. */
      segments: string[];
      /** `/` + segments (+ `/` when the request ended in one): the path the service is sent. */
      canonical: string;
    }
  | { ok: false; problem: LinkPathProblem; detail: string };

// RFC 3986 pchar minus pct-encoded: these bytes stay as they are, every other byte is %XX. Both
// separators (`/` and `\`) are outside this set, so a decoded separator can never reappear raw.
const LITERAL_BYTES = new Set(
  [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@"].map((char) => char.charCodeAt(0)),
);

// After one decoding, a segment that still holds an encoded dot or separator was encoded twice:
// a backend that decodes twice would find `..` or `/` in it.
const DOUBLE_ENCODED = /%(2e|2f|5c)/i;

/**
 * What servers strip from a segment before they look at it: ASCII whitespace and controls (a
 * trimming server reads `%20..` or `..%09` as `..`), Unicode spaces, and zero-width characters.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point.
const IGNORABLE_CHARACTERS = /[\s\x00-\x1f\x7f\u200b-\u200d\u2060]/gu;

/**
 * Whether the bytes hold an overlong UTF-8 sequence: a character encoded in more bytes than it
 * needs, such as `%c0%ae` for `.` or `%c0%af` for `/`. Valid UTF-8 never contains one, and a
 * lenient decoder (old IIS, Tomcat, some WAFs) turns it back into the character it disguises.
 */
function hasOverlongUtf8(bytes: Buffer): boolean {
  for (let index = 0; index + 1 < bytes.length; index++) {
    const lead = bytes[index] ?? 0;
    const next = bytes[index + 1] ?? 0;
    if (next < 0x80 || next > 0xbf) continue;
    if (lead === 0xc0 || lead === 0xc1) return true;
    if (lead === 0xe0 && next < 0xa0) return true;
    if (lead === 0xf0 && next < 0x90) return true;
    if (lead === 0xf8 && next < 0x88) return true;
    if (lead === 0xfc && next < 0x84) return true;
  }
  return false;
}

/** Whether a segment that is not `.` or `..` would be read as one by some server. */
function isDisguisedDotSegment(decoded: string): boolean {
  const beforeParameters = decoded.split(";")[0] ?? "";
  return [decoded, beforeParameters].some((text) =>
    [text, text.normalize("NFKC")].some(
      (form) => dotKind(form) !== "none" || dotKind(form.replace(IGNORABLE_CHARACTERS, "")) !== "none",
    ),
  );
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;

function isHexDigit(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/**
 * The bytes of one raw segment, percent-decoded. Characters above U+007F (from a prefix typed
 * by a person; the wire only carries ASCII) count as their UTF-8 bytes. Undefined for a `%`
 * not followed by two hex digits.
 */
function decodeSegment(raw: string): Buffer | undefined {
  const bytes: number[] = [];
  for (let index = 0; index < raw.length; index++) {
    const code = raw.charCodeAt(index);
    if (code === 0x25) {
      const high = raw.charCodeAt(index + 1);
      const low = raw.charCodeAt(index + 2);
      if (!isHexDigit(high) || !isHexDigit(low)) return undefined;
      bytes.push(Number.parseInt(raw.slice(index + 1, index + 3), 16));
      index += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      const char = String.fromCodePoint(raw.codePointAt(index) ?? code);
      bytes.push(...Buffer.from(char, "utf8"));
      index += char.length - 1;
    }
  }
  return Buffer.from(bytes);
}

function encodeSegment(bytes: Buffer): string {
  let text = "";
  for (const byte of bytes) {
    text += LITERAL_BYTES.has(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return text;
}

type DotKind = "none" | "current" | "parent";

function dotKind(text: string): DotKind {
  if (text === ".") return "current";
  if (text === "..") return "parent";
  return "none";
}

/**
 * Normalizes the path of a request target (no query: the caller splits it off). Backslashes
 * count as slashes (some servers treat them so); encoded slashes and backslashes are refused,
 * since a server that decodes them would see a different tree than we checked; each segment is
 * percent-decoded to find dot segments (`..`, `%2e%2E`, ...), which are resolved; empty segments
 * (`//`) are dropped; a trailing slash is kept. Segments that only look like dot segments to
 * some servers (`..;x` for Java path parameters, `．．` for Unicode normalizers, `%252e%252e`
 * for double decoders, `%20..` or `..%09` for servers that trim, `%c0%ae%c0%ae` for lenient
 * UTF-8 decoders) are refused rather than guessed at.
 */
export function normalizeLinkPath(rawPath: string): NormalizedLinkPath {
  if (!rawPath.startsWith("/") && !rawPath.startsWith("\\")) {
    return { ok: false, problem: "malformed", detail: "the path must start with /" };
  }
  if (rawPath.includes("#")) return { ok: false, problem: "malformed", detail: "a request path cannot carry a fragment (#)" };
  const rawSegments = rawPath.replaceAll("\\", "/").split("/").slice(1);
  const segments: string[] = [];
  let hasTrailingSlash = false;
  for (const rawSegment of rawSegments) {
    const bytes = decodeSegment(rawSegment);
    if (bytes === undefined) {
      return { ok: false, problem: "malformed", detail: "the path has a % that is not followed by two hex digits" };
    }
    if (bytes.includes(0)) return { ok: false, problem: "malformed", detail: "the path contains an encoded null byte" };
    if (bytes.includes(SLASH) || bytes.includes(BACKSLASH)) {
      return { ok: false, problem: "encoded-separator", detail: "encoded slashes (%2F, %5C) are not allowed in link paths" };
    }
    if (hasOverlongUtf8(bytes)) {
      return {
        ok: false,
        problem: "overlong-utf8",
        detail: "the path has an overlong UTF-8 sequence (such as %C0%AE), which some servers read as . or /",
      };
    }
    const decoded = bytes.toString("utf8");
    const kind = dotKind(decoded);
    if (kind === "none") {
      if (isDisguisedDotSegment(decoded) || DOUBLE_ENCODED.test(decoded)) {
        return {
          ok: false,
          problem: "disguised-dot-segment",
          detail: "the path has a segment that some servers read as . or ..",
        };
      }
    }
    // A trailing slash belongs to the path (servers redirect between /docs and /docs/); a
    // trailing dot segment also leaves the path ending in a directory, as RFC 3986 resolves it.
    hasTrailingSlash = rawSegment === "" || kind !== "none";
    if (kind === "parent") segments.pop();
    else if (kind === "none" && bytes.length > 0) segments.push(encodeSegment(bytes));
  }
  const joined = `/${segments.join("/")}`;
  return { ok: true, segments, canonical: hasTrailingSlash && segments.length > 0 ? `${joined}/` : joined };
}

/** Whether a normalized path lies within a prefix, on whole segments: `/api/v1` holds `/api/v1/x`, not `/api/v10`. */
export function isWithinPathPrefix(pathSegments: readonly string[], prefixSegments: readonly string[]): boolean {
  if (pathSegments.length < prefixSegments.length) return false;
  return prefixSegments.every((segment, index) => pathSegments[index] === segment);
}

/** Splits a stored prefix (already canonical) into its segments. */
export function splitPathPrefix(prefix: string): string[] {
  return prefix.split("/").filter((segment) => segment !== "");
}

/**
 * A `--paths` entry as stored: canonical, without a trailing slash. Refuses what a prefix
 * cannot sensibly mean: no leading slash, a query or fragment, dot segments (`/api/../admin` is
 * a typo or a trick, either way not a prefix), and anything a request would be refused for.
 */
export function normalizePathPrefix(raw: string): { ok: true; prefix: string } | { ok: false; message: string } {
  const text = raw.trim();
  const example = "for example /api/v1";
  if (!text.startsWith("/")) return { ok: false, message: `Path prefixes start with /, ${example}: got "${raw}"` };
  if (text.includes("?") || text.includes("#")) {
    return { ok: false, message: `Path prefixes are paths only, without ? or #, ${example}: got "${raw}"` };
  }
  const hasDotSegment = text
    .replaceAll("\\", "/")
    .split("/")
    .some((segment) => {
      const decoded = decodeSegment(segment)?.toString("utf8");
      return decoded !== undefined && dotKind(decoded) !== "none";
    });
  if (hasDotSegment) {
    return { ok: false, message: `Path prefixes cannot contain dot segments (/./ or /../), ${example}: got "${raw}"` };
  }
  const normalized = normalizeLinkPath(text);
  if (!normalized.ok) return { ok: false, message: `Path prefix "${raw}" is not allowed: ${normalized.detail}` };
  return { ok: true, prefix: `/${normalized.segments.join("/")}` };
}
