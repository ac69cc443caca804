import { mapRedirectIntoLink, mapRefreshIntoLink } from "./redirect-policy.js";
import { isSessionCookieName, judgeSetCookie } from "./response-cookies.js";

/** Headers that describe one connection, not the message (RFC 9110 7.6.1): never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * What a client says about where it came from is not believed: the hub states it afresh. The
 * Expect header is dropped because the hub's server already answered `100 Continue`.
 */
const REPLACED_ON_REQUESTS = new Set([
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
  "x-real-ip",
  "expect",
]);

/**
 * `Clear-Site-Data: "cookies"` clears the cookies of the whole registrable domain, which a link
 * shares with the dashboard in both URL forms (127.0.0.1; example.com): one response would sign
 * every visitor out of the dashboard. A service has no business clearing more than its own.
 */
const SITE_WIDE = new Set(["clear-site-data"]);

/**
 * Policies a response sets for its whole origin, which in the path form is the hub's: HSTS
 * (`max-age=0` would switch the hub's off), Alt-Svc (where to send the hub's traffic), NEL and
 * reporting endpoints (where the browser reports every later request to the hub, with the URLs
 * of other links in it), and the scope a service worker may claim.
 */
const ORIGIN_WIDE = new Set([
  "strict-transport-security",
  "alt-svc",
  "nel",
  "report-to",
  "reporting-endpoints",
  "service-worker-allowed",
]);

/**
 * Sandboxes pages served in the path form, which shares the hub's origin: without it, a page of
 * the linked service could call the hub's API with the visitor's session. Browsers get the full
 * web platform on the host form (`<slug>.<LINK_DOMAIN>`), an origin of its own.
 */
export const PATH_FORM_CONTENT_SECURITY_POLICY =
  "sandbox allow-forms allow-scripts allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads";

/** The header names listed in Connection headers: hop-by-hop too, by the sender's own say. */
function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    if ((rawHeaders[index] ?? "").toLowerCase() !== "connection") continue;
    for (const token of (rawHeaders[index + 1] ?? "").split(",")) tokens.add(token.trim().toLowerCase());
  }
  return tokens;
}

/** A Cookie header without the hub's own session cookie; undefined when nothing else is left. */
export function withoutSessionCookie(cookieHeader: string): string | undefined {
  const kept = cookieHeader
    .split(";")
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "" && !isSessionCookieName(pair.split("=")[0] ?? ""));
  return kept.length === 0 ? undefined : kept.join("; ");
}

export interface UpstreamContext {
  clientIp: string;
  /** "https" when the visitor reached the hub over TLS (directly or at a trusted proxy). */
  proto: "http" | "https";
  /** A WebSocket (or other) upgrade: Connection and Upgrade are kept, for this hop only. */
  isUpgrade: boolean;
}

/**
 * The request headers the service is sent, as a raw list: repeated headers stay repeated and in
 * order. Hop-by-hop headers go, the hub's session cookie goes, and X-Forwarded-For/-Proto/-Host
 * say who asked, over what, and for which host. A chunked body is re-chunked by the hub.
 */
export function buildUpstreamHeaders(rawHeaders: readonly string[], context: UpstreamContext): string[] {
  const dropped = connectionTokens(rawHeaders);
  const headers: string[] = [];
  let host: string | undefined;
  let upgrade: string | undefined;
  let isChunked = false;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? "";
    const value = rawHeaders[index + 1] ?? "";
    const lower = name.toLowerCase();
    if (lower === "host") host ??= value;
    if (lower === "upgrade") upgrade ??= value;
    if (lower === "transfer-encoding") isChunked = true;
    if (HOP_BY_HOP.has(lower) || REPLACED_ON_REQUESTS.has(lower) || dropped.has(lower)) continue;
    if (lower === "cookie") {
      const kept = withoutSessionCookie(value);
      if (kept !== undefined) headers.push(name, kept);
      continue;
    }
    headers.push(name, value);
  }
  if (context.isUpgrade && upgrade !== undefined) headers.push("Connection", "Upgrade", "Upgrade", upgrade);
  // Node decoded the chunked body; saying so again makes node:http chunk it on the way out.
  else if (isChunked) headers.push("Transfer-Encoding", "chunked");
  headers.push("X-Forwarded-For", context.clientIp, "X-Forwarded-Proto", context.proto);
  if (host !== undefined) headers.push("X-Forwarded-Host", host);
  return headers;
}

export interface DownstreamContext {
  /** A 101 answer to an upgrade: its Connection and Upgrade headers are the handshake itself. */
  isUpgrade: boolean;
  /** The response's status: only a 3xx Location is a redirect a browser follows. */
  status: number;
  /** The path form: pages are sandboxed, cookies and redirects stay under `/l/<slug>`. */
  pathFormPrefix?: string | undefined;
  /** The host form's host name (lower case, no port): the only Domain its cookies may name. */
  linkHostName?: string | undefined;
  /** The hub's origin as the visitor reached it, for the path form's redirects. */
  visitorOrigin?: string | undefined;
  /** The path and query the service was sent: relative redirects and default cookie paths. */
  servicePath?: string | undefined;
}

export type DownstreamHead =
  | { kind: "passed"; headers: string[]; droppedCookies: string[] }
  /** A redirect out of a path-form link: the response is not passed on at all. */
  | { kind: "refused"; header: string };

/**
 * The response headers the visitor is sent, as a raw list (two Set-Cookie stay two). Hop-by-hop
 * headers go (node:http frames the body itself), so do headers that act beyond the link's own
 * responses (Clear-Site-Data; in the path form HSTS, Alt-Svc, NEL), and so does any Set-Cookie a server could read
 * as the hub's session cookie: a linked service must not be able to sign a visitor in or out of
 * the hub or the dashboard (response-cookies.ts). In the path form, redirects are mapped under
 * `/l/<slug>`, and one that leaves the hub's host refuses the whole response (redirect-policy.ts).
 */
export function buildDownstreamHeaders(rawHeaders: readonly string[], context: DownstreamContext): DownstreamHead {
  const dropped = connectionTokens(rawHeaders);
  const headers: string[] = [];
  const droppedCookies: string[] = [];
  const redirectContext =
    context.pathFormPrefix === undefined
      ? undefined
      : { pathFormPrefix: context.pathFormPrefix, visitorOrigin: context.visitorOrigin, servicePath: context.servicePath ?? "/" };
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? "";
    let value = rawHeaders[index + 1] ?? "";
    const lower = name.toLowerCase();
    const isHandshake = context.isUpgrade && (lower === "connection" || lower === "upgrade");
    if (!isHandshake && (HOP_BY_HOP.has(lower) || dropped.has(lower))) continue;
    if (SITE_WIDE.has(lower) || (context.pathFormPrefix !== undefined && ORIGIN_WIDE.has(lower))) continue;
    if (lower === "set-cookie") {
      const decision = judgeSetCookie(value, {
        pathFormPrefix: context.pathFormPrefix,
        linkHostName: context.linkHostName,
        servicePath: context.servicePath?.split("?")[0],
      });
      if (decision.kind === "dropped") {
        droppedCookies.push(decision.reason);
        continue;
      }
      value = decision.value;
    }
    if (redirectContext !== undefined && (lower === "location" || lower === "refresh")) {
      const decision =
        lower === "location" ? mapRedirectIntoLink(value, redirectContext) : mapRefreshIntoLink(value, redirectContext);
      if (decision.kind === "rewritten") value = decision.value;
      // Outside a 3xx a Location is information (201 Created), which no browser follows.
      else if (lower === "refresh" || (context.status >= 300 && context.status < 400)) return { kind: "refused", header: name };
    }
    headers.push(name, value);
  }
  if (context.pathFormPrefix !== undefined) headers.push("Content-Security-Policy", PATH_FORM_CONTENT_SECURITY_POLICY);
  return { kind: "passed", headers, droppedCookies };
}
