import { maskIp } from "./mask-ip.js";
import { REDACTED, scrubText } from "./scrub-text.js";

/** How deep and how much of a logged value is copied; past that it is cut, never logged raw. */
const MAX_DEPTH = 32;
const MAX_NODES = 10_000;

export const CIRCULAR = "[Circular]";
export const TRUNCATED = "[Truncated]";

/** How a byte buffer appears in a log: its size, never its bytes. */
export function describeBinary(byteLength: number): string {
  return `[binary ${byteLength} bytes]`;
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, "");
}

// Keys whose whole value is a credential, whatever it looks like (a share code or a cookie
// need not match any pattern). Compared without case, dashes or underscores.
const SECRET_KEYS = new Set([
  "authorization",
  "proxyauthorization",
  "cookie",
  "cookies",
  "setcookie",
  "bearer",
  "credentials",
  "sharecode",
  "joincode",
  "devicecode",
  "usercode",
  "linkslug",
  "privatekey",
  "passphrase",
  "smtpurl",
  "databaseurl",
  "databaseruntimeurl",
  "encryptionkey",
]);
const SECRET_KEY_SUFFIXES = ["token", "secret", "password", "apikey", "cookie"];

function isSecretKey(normalized: string): boolean {
  return SECRET_KEYS.has(normalized) || SECRET_KEY_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

// Keys whose value is a client's address: masked even when it is loopback, because here the
// value is a person's address by declaration, not a word in a sentence.
const IP_KEYS = new Set(["xforwardedfor", "forwardedfor", "forwarded", "xrealip", "remoteaddress", "remoteaddr"]);

function isIpKey(normalized: string): boolean {
  return IP_KEYS.has(normalized) || normalized.endsWith("ip") || normalized.endsWith("ips");
}

type KeyKind = "secret" | "ip" | undefined;

function classifyKey(key: string): KeyKind {
  const normalized = normalizeKey(key);
  if (isSecretKey(normalized)) return "secret";
  if (isIpKey(normalized)) return "ip";
  return undefined;
}

interface Walk {
  /** Objects on the path from the root: seeing one again is a cycle. */
  ancestors: Set<object>;
  nodes: number;
}

function isBinary(value: object): value is ArrayBufferView | ArrayBuffer | SharedArrayBuffer {
  return (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)
  );
}

function scrubError(error: Error, walk: Walk, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: error.constructor?.name && error.constructor.name !== "Object" ? error.constructor.name : error.name,
    message: scrubText(String(error.message)),
  };
  if (typeof error.stack === "string") out.stack = scrubText(error.stack);
  for (const [key, value] of Object.entries(error)) {
    if (key === "message" || key === "stack") continue;
    out[key] = scrubEntry(key, value, walk, depth + 1);
  }
  // `cause` and AggregateError's `errors` are not enumerable; they are where wrapped secrets hide.
  if ("cause" in error && error.cause !== undefined) out.cause = scrubEntry("cause", error.cause, walk, depth + 1);
  if (error instanceof AggregateError) out.errors = scrubEntry("errors", error.errors, walk, depth + 1);
  return out;
}

function scrubEntry(key: string, value: unknown, walk: Walk, depth: number): unknown {
  const kind = classifyKey(key);
  if (kind === "secret") return value === undefined || value === null || typeof value === "boolean" ? value : REDACTED;
  return scrubNode(value, walk, depth, kind);
}

/** The items of an array or set, cut with a final "[Truncated]" once the walk's budget is spent. */
function scrubItems(items: Iterable<unknown>, walk: Walk, depth: number, kind: KeyKind): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    if (walk.nodes > MAX_NODES) {
      out.push(TRUNCATED);
      break;
    }
    out.push(scrubNode(item, walk, depth + 1, kind));
  }
  return out;
}

function scrubNode(value: unknown, walk: Walk, depth: number, kind: KeyKind): unknown {
  // Every value counts towards the budget, so a huge array of strings is cut too.
  walk.nodes += 1;
  if (typeof value === "string") return kind === "ip" ? maskIp(value) : scrubText(value);
  if (typeof value !== "object" || value === null) return value;
  if (isBinary(value)) return describeBinary(value.byteLength);
  if (walk.ancestors.has(value)) return CIRCULAR;
  if (depth > MAX_DEPTH || walk.nodes > MAX_NODES) return TRUNCATED;

  walk.ancestors.add(value);
  try {
    if (value instanceof Error) return scrubError(value, walk, depth);
    if (Array.isArray(value)) return scrubItems(value, walk, depth, kind);
    if (value instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of value) {
        if (walk.nodes > MAX_NODES) return { ...out, [TRUNCATED]: true };
        out[String(key)] = scrubEntry(String(key), item, walk, depth + 1);
      }
      return out;
    }
    if (value instanceof Set) return scrubItems(value, walk, depth, kind);
    // What JSON.stringify would write (Date, URL, Decimal...), scrubbed like anything else.
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      const json: unknown = toJSON.call(value);
      return json === value ? TRUNCATED : scrubNode(json, walk, depth + 1, kind);
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (walk.nodes > MAX_NODES) return { ...out, [TRUNCATED]: true };
      out[key] = scrubEntry(key, item, walk, depth + 1);
    }
    return out;
  } catch {
    // A getter or toJSON that throws must not take the log line (or the caller) down with it.
    return TRUNCATED;
  } finally {
    walk.ancestors.delete(value);
  }
}

/**
 * A copy of `value` that is safe to log: secrets become [REDACTED] at any depth (by their shape
 * anywhere in a string, and by key: authorization, cookie, *token, *secret, *password...), IP
 * addresses are masked (always under keys such as ip, clientIp, remoteAddress; loopback kept in
 * free text), byte buffers become "[binary N bytes]", errors become { type, message, stack,
 * cause } with all of them scrubbed, and cycles become "[Circular]". Never throws.
 */
export function scrubSecrets(value: unknown): unknown {
  return scrubNode(value, { ancestors: new Set(), nodes: 0 }, 0, undefined);
}

/** scrubSecrets for the fields of one log line (a child logger's bindings, a merge object). */
export function scrubFields(fields: Record<string, unknown>): Record<string, unknown> {
  const walk: Walk = { ancestors: new Set([fields]), nodes: 0 };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = scrubEntry(key, value, walk, 1);
  return out;
}
