import { SESSION_COOKIE_NAME } from "@private-connect/api";

// What a linked service may set in the visitor's cookie jar. In the path form the link shares
// the hub's host (and, in the embedded layout, the dashboard's host too: cookies ignore ports),
// so a cookie the service sets is a cookie of the hub and of the dashboard unless the hub says
// otherwise. The rule here: no cookie that any server could read as the session cookie, no
// cookie for a parent domain, and path-form cookies scoped under the link's own /l/<slug>.

export interface CookieContext {
  /** The path form's `/l/<slug>`; undefined for the host form. */
  pathFormPrefix?: string | undefined;
  /** The host form's own host name (`<slug>.<LINK_DOMAIN>`, lower case, no port). */
  linkHostName?: string | undefined;
  /** The path the service was asked for, in its own space (for the default cookie path). */
  servicePath?: string | undefined;
}

export type CookieDecision = { kind: "kept"; value: string } | { kind: "dropped"; reason: string };

/** SP and HTAB: what RFC 6265bis trims around a cookie's name and value. */
const COOKIE_WHITESPACE = /^[ \t]+|[ \t]+$/g;
/** Bytes that make a browser ignore the whole Set-Cookie (RFC 6265bis 5.6 step 1). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point.
const CONTROL_CHARACTERS = /[\x00-\x08\x0a-\x1f\x7f]/;
const PREFIXES = /^(__host-|__secure-)+/;

function trimCookieWhitespace(text: string): string {
  return text.replace(COOKIE_WHITESPACE, "");
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Whether a cookie name, as some server might read it, is the session cookie: browsers keep
 * `PC_SESSION`, `"pc_session"` or `__Host-pc_session` as cookies of their own, but servers that
 * compare names without case, unquote them or percent-decode them would read them as ours.
 */
export function isSessionCookieName(name: string): boolean {
  let candidate = percentDecoded(name).toLowerCase();
  for (let previous = ""; previous !== candidate; ) {
    previous = candidate;
    candidate = candidate
      .trim()
      .replace(/^"+|"+$/g, "")
      .replace(PREFIXES, "");
  }
  return candidate === SESSION_COOKIE_NAME;
}

/**
 * The names a server may find in the Cookie header a browser builds from this Set-Cookie.
 * Per RFC 6265bis a pair without `=` has an empty name, and a cookie with an empty name is sent
 * back as its bare value: `Set-Cookie: =pc_session=x` comes back as `Cookie: pc_session=x`.
 * Commas are split on too, for the servers that still read them as pair separators (RFC 2965).
 */
function namesSentBack(setCookie: string): string[] {
  const pair = setCookie.split(";")[0] ?? "";
  const separator = pair.indexOf("=");
  const name = separator === -1 ? "" : trimCookieWhitespace(pair.slice(0, separator));
  const value = trimCookieWhitespace(separator === -1 ? pair : pair.slice(separator + 1));
  const sent = name === "" ? value : `${name}=${value}`;
  return sent.split(",").map((piece) => piece.split("=")[0] ?? "");
}

/** A cookie's default path (RFC 6265bis 5.1.4), from the path the request was for. */
function defaultCookiePath(requestPath: string): string {
  if (!requestPath.startsWith("/")) return "/";
  const lastSlash = requestPath.lastIndexOf("/");
  return lastSlash <= 0 ? "/" : requestPath.slice(0, lastSlash);
}

/** A service-space cookie path as the visitor's browser must hold it: under the link's prefix. */
function prefixedPath(prefix: string, path: string): string {
  return path === "/" ? prefix : `${prefix}${path}`;
}

/**
 * Decides one Set-Cookie of a link's response: dropped (with why, for the log) or kept, in the
 * path form with its Path moved under `/l/<slug>` (so it is never sent to the hub's or the
 * dashboard's own pages).
 */
export function judgeSetCookie(setCookie: string, context: CookieContext): CookieDecision {
  if (CONTROL_CHARACTERS.test(setCookie)) return { kind: "dropped", reason: "control characters" };
  if (namesSentBack(setCookie).some(isSessionCookieName)) return { kind: "dropped", reason: "the hub's session cookie" };
  const [pair = "", ...attributes] = setCookie.split(";");
  let hasPath = false;
  const kept: string[] = [pair];
  for (const attribute of attributes) {
    const separator = attribute.indexOf("=");
    const name = trimCookieWhitespace(separator === -1 ? attribute : attribute.slice(0, separator)).toLowerCase();
    const value = separator === -1 ? "" : trimCookieWhitespace(attribute.slice(separator + 1));
    if (name === "domain") {
      // The path form shares the hub's host: any Domain would reach it, its parents or siblings.
      if (context.pathFormPrefix !== undefined) return { kind: "dropped", reason: "a Domain attribute on a /l/ link" };
      const domain = value.toLowerCase().replace(/^\./, "");
      // The host form may name itself; a parent domain would reach every link and the dashboard.
      if (domain !== "" && domain !== context.linkHostName) return { kind: "dropped", reason: "a Domain beyond the link's host" };
    }
    if (name === "path" && context.pathFormPrefix !== undefined) {
      // A Path not starting with / is ignored by browsers (the default applies): replace it.
      hasPath = true;
      const path = value.startsWith("/") ? value : defaultCookiePath(context.servicePath ?? "/");
      kept.push(` Path=${prefixedPath(context.pathFormPrefix, path)}`);
      continue;
    }
    kept.push(attribute);
  }
  if (context.pathFormPrefix !== undefined && !hasPath) {
    kept.push(` Path=${prefixedPath(context.pathFormPrefix, defaultCookiePath(context.servicePath ?? "/"))}`);
  }
  return { kind: "kept", value: kept.join(";") };
}
