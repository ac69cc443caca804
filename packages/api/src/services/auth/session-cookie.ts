export const SESSION_COOKIE_NAME = "pc_session";

/** Sessions end after this long without a request. */
export const SESSION_IDLE_TIMEOUT_MS = 30 * 24 * 60 * 60 * 1000;
/** A session's last use is written at most this often (and the cookie re-sent with it). */
export const SESSION_RENEW_INTERVAL_MS = 60 * 1000;

/** A Set-Cookie the procedure layer asks the transport to send. */
export interface ResponseCookie {
  name: string;
  value: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: "Lax" | "Strict";
  path: string;
  maxAgeSeconds: number;
}

/** What identifies a cookie to clear: the same name, path and flags it was set with. */
export type ClearedCookie = Omit<ResponseCookie, "value" | "maxAgeSeconds">;

const LOOPBACK_HOSTNAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * True for a Host header naming this machine (with or without a port). Browsers refuse Secure
 * cookies over plain http except on such hosts, and the embedded default runs on plain
 * http://127.0.0.1, so only there is the flag left off. Unknown host: not loopback.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const lower = host.trim().toLowerCase();
  const hostname = lower.startsWith("[") ? lower.slice(0, lower.indexOf("]") + 1) : (lower.split(":")[0] ?? "");
  return LOOPBACK_HOSTNAMES.has(hostname);
}

function describeSessionCookie(host: string | undefined): ClearedCookie {
  // HttpOnly: no script can read it. SameSite=Lax: not sent on cross-site POSTs (and tRPC
  // mutations are POSTs), while a link from an email still opens the dashboard signed in.
  return { name: SESSION_COOKIE_NAME, httpOnly: true, secure: !isLoopbackHost(host), sameSite: "Lax", path: "/" };
}

/** The session cookie for a token; its lifetime matches the inactivity timeout and is renewed with it. */
export function buildSessionCookie(token: string, host: string | undefined): ResponseCookie {
  return { ...describeSessionCookie(host), value: token, maxAgeSeconds: Math.floor(SESSION_IDLE_TIMEOUT_MS / 1000) };
}

export function buildClearedSessionCookie(host: string | undefined): ClearedCookie {
  return describeSessionCookie(host);
}

/** `Set-Cookie` header value. Names and values here are fixed or base64url, so no escaping is needed. */
export function serializeCookie(cookie: ResponseCookie): string {
  const parts = [`${cookie.name}=${cookie.value}`, `Path=${cookie.path}`, `Max-Age=${cookie.maxAgeSeconds}`];
  if (cookie.maxAgeSeconds <= 0) parts.push("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  if (cookie.httpOnly) parts.push("HttpOnly");
  if (cookie.secure) parts.push("Secure");
  parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join("; ");
}

export function serializeClearedCookie(cookie: ClearedCookie): string {
  return serializeCookie({ ...cookie, value: "", maxAgeSeconds: 0 });
}

/** The value of one cookie of a `Cookie` request header (the first one, if repeated). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const separator = pair.indexOf("=");
    if (separator < 0) continue;
    if (pair.slice(0, separator).trim() !== name) continue;
    const value = pair.slice(separator + 1).trim();
    return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
  }
  return undefined;
}
