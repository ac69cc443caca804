import { maskIpsInText } from "./mask-ip.js";

export const REDACTED = "[REDACTED]";

// Secret-shaped text, wherever it appears: a message, a URL, a stack, a header dump. The
// formats are the ones packages/api generates (services/auth/secrets.ts, device-auth codes).
// None of the patterns consumes a quote or a backslash, so scrubbing a serialized JSON line
// keeps it valid JSON. A pattern that redacts a little too much is the better failure.
interface SecretPattern {
  name: string;
  pattern: RegExp;
  replace: string | ((match: string) => string);
}

function redactIfMixed(match: string): string {
  return /[A-Z]/.test(match) && /[a-z]/.test(match) && /[0-9]/.test(match) ? REDACTED : match;
}

/**
 * "Not in the middle of a word made of `chars`". In a serialized JSON line a token may also
 * follow an escape (\n, \\, \u0001), but never start inside one: the escape's letters are
 * not the token's.
 */
function startOfRun(chars: string, isJson: boolean): string {
  return isJson ? `(?<=^|[^\\\\${chars}]|\\\\[nrtbf"/\\\\]|\\\\u[0-9A-Fa-f]{4})` : `(?<![${chars}])`;
}

/** A run of exactly `body`, alone: not part of a longer run of `chars`. */
function wholeRun(chars: string, body: string, isJson: boolean): RegExp {
  return new RegExp(`${startOfRun(chars, isJson)}${body}(?![${chars}])`, "g");
}

// The symbols of codes people type (share codes XXXX-XXXX-XXXX-XXXX, three groups before keyed
// hashes, device user codes XXXX-XXXX):
// digits and capitals without 0/O and 1/I (packages/api services/auth/readable-codes.ts).
const READABLE = "[2-9A-HJ-NP-Z]";

function buildPatterns(isJson: boolean): SecretPattern[] {
  return [
    // Authorization header values. Before the token shapes, so "Bearer pc_..." reads as one.
    { name: "bearer", pattern: /(Bearer)(\s+)[^\s"'\\]+/gi, replace: `$1$2${REDACTED}` },
    // Cookie headers as text ("Cookie: a=b; pc_session=..."), up to the end of the line.
    { name: "cookie header", pattern: /((?:set-)?cookie)(\s*:\s*)[^\r\n"\\]+/gi, replace: `$1$2${REDACTED}` },
    // The session cookie wherever it is written name=value.
    { name: "session cookie", pattern: /(pc_session=)[^;,\s"'\\]+/gi, replace: `$1${REDACTED}` },
    // Credentials in a URL's authority: postgres://user:secret@host, smtps://user:secret@host.
    {
      name: "url password",
      pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"'\\]*:)[^@/?#\s"'\\]+@/gi,
      replace: `$1${REDACTED}@`,
    },
    // Secrets in query strings: the sign-in link (/auth/verify?token=...), share codes, slugs.
    {
      name: "query secret",
      pattern:
        /([?&;](?:token|access_token|code|device_code|user_code|share|share_code|slug|key|api_key|apikey|secret|password|session|signature|sig)=)[^&#;\s"'\\]+/gi,
      replace: `$1${REDACTED}`,
    },
    // The path form of a public link: /l/<slug>/... (the host form is caught as a slug below).
    { name: "link path", pattern: /(\/l\/)[^/?#\s"'\\]+/g, replace: `$1${REDACTED}` },
    // Workspace API keys: pc_ + 32 of [A-Za-z0-9]. A longer run is still the key plus noise.
    { name: "api key", pattern: /pc_[A-Za-z0-9]{32,}/g, replace: REDACTED },
    // An agent's end-to-end private key (e2e-key.json): pcsk_ + 43 base64url. The public half
    // (pcpk_) is meant to be shown and compared, so it stays.
    { name: "e2e private key", pattern: /pcsk_[A-Za-z0-9_-]{43}/g, replace: REDACTED },
    // The private half of a workspace key (workspace-signing-key.json on an owner's machine):
    // pcwsk_ + 43 base64url. Its public half (pcwk_) and certificates (pccert_) are public.
    { name: "workspace private key", pattern: /pcwsk_[A-Za-z0-9_-]{43}/g, replace: REDACTED },
    // Agent tokens (64 hex), device codes (pcd_ + 64 hex), ENCRYPTION_KEY, and their hashes. In
    // JSON, never from inside a \uXXXX escape, which would leave the line broken.
    {
      name: "hex token",
      pattern: isJson ? /(?<!\\u[0-9A-Fa-f]{0,3})[0-9A-Fa-f]{64,}/g : /[0-9A-Fa-f]{64,}/g,
      replace: REDACTED,
    },
    // Session and sign-in link tokens: 43 base64url characters. Only a run of exactly that length
    // that mixes cases and digits, so identifiers and service names are not mistaken for one.
    { name: "browser token", pattern: wholeRun("A-Za-z0-9_-", "[A-Za-z0-9_-]{43}", isJson), replace: redactIfMixed },
    // Public link slugs: 26 lower-case base32 symbols, alone or as the first label of a link host.
    { name: "link slug", pattern: wholeRun("A-Za-z0-9", "[a-z2-7]{26}", isJson), replace: REDACTED },
    // Share codes and device user codes, as the hub prints them (upper case, dashed groups).
    {
      name: "readable code",
      pattern: wholeRun("A-Za-z0-9-", `${READABLE}{4}(?:-${READABLE}{4}){1,3}`, isJson),
      replace: REDACTED,
    },
  ];
}

const TEXT_PATTERNS = buildPatterns(false);
const JSON_PATTERNS = buildPatterns(true);

function applyPatterns(text: string, patterns: readonly SecretPattern[]): string {
  let scrubbed = text;
  for (const { pattern, replace } of patterns) {
    scrubbed = typeof replace === "string" ? scrubbed.replace(pattern, replace) : scrubbed.replace(pattern, replace);
  }
  return scrubbed;
}

export interface ScrubTextOptions {
  /** Keep loopback addresses readable in free text (default true: they name this machine). */
  keepLoopback?: boolean;
}

/**
 * Redacts every secret-shaped part of a text and masks the IP addresses in it. Idempotent:
 * scrubbing twice gives the same text.
 */
export function scrubText(text: string, options: ScrubTextOptions = {}): string {
  return maskIpsInText(applyPatterns(text, TEXT_PATTERNS), { keepLoopback: options.keepLoopback ?? true });
}

/**
 * scrubText for one serialized JSON line: the same secrets, recognised next to JSON escapes,
 * and the line stays valid JSON. A backstop behind structured scrubbing, not a replacement: a
 * line is only as readable as what the structured pass left in it.
 */
export function scrubJsonLine(line: string): string {
  return maskIpsInText(applyPatterns(line, JSON_PATTERNS), { keepLoopback: true });
}
