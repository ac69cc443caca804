import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { type BlockList, isIP } from "node:net";
import { Readable } from "node:stream";
import { createTrustedProxies, isTrustedProxy, resolveForwardedClient, unmapIPv4 } from "@private-connect/trusted-proxies";

/**
 * The connection's peer, as server.mjs stamps it on every request before Next.js sees it
 * (replacing any such header a browser sent). Next.js itself hands route handlers no peer
 * address, and its X-Forwarded-For is whatever the browser chose to send.
 */
export const PEER_HEADER = "x-pc-peer-address";
/** server.mjs sets this in the process: without it (bare `next start`) nobody stamped PEER_HEADER. */
const PEER_STAMP = Symbol.for("private-connect.dashboard.peer-header");
/** Whether server.mjs runs this process, so PEER_HEADER is its word and not a browser's. */
export function isPeerStamped(): boolean {
  return (globalThis as Record<symbol, unknown>)[PEER_STAMP] === PEER_HEADER;
}

/** How the dashboard proves to the hub that it is the dashboard (the hub's FRONT_END_SECRET). */
export const FRONT_END_HEADER = "x-pc-front-end";

/**
 * Request headers the hub may see. Everything else (Authorization above all) stays here: the
 * dashboard speaks for browsers with a session cookie, not for bearer tokens.
 */
const FORWARDED_REQUEST_HEADERS = [
  "accept",
  "content-type",
  "cookie",
  "last-event-id",
  "trpc-accept",
  "user-agent",
  "x-pc-workspace",
];

/** Hop-by-hop headers (RFC 9110 7.6.1) end at each hop; the rest of the hub's answer passes. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

/** The largest request body forwarded: tRPC control-plane calls are small (the hub allows 1 MiB). */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ProxyTarget {
  /** The hub's base URL, e.g. http://127.0.0.1:3001 */
  hubUrl: string;
  /** The hub's FRONT_END_SECRET; without it the hub counts every browser as this server. */
  frontEndSecret?: string | undefined;
  /** Proxies in front of the dashboard whose X-Forwarded-* are believed (TRUST_PROXY). */
  trustedProxies?: BlockList | undefined;
}

/** Who sent a request, as far as this server can tell without believing the browser's say. */
export interface Visitor {
  /** The browser's address: the peer, or what a trusted proxy saw; undefined when unknowable. */
  address: string | undefined;
  proto: "http" | "https";
  /** The host the browser asked for: the Host header, or a trusted proxy's X-Forwarded-Host. */
  host: string | null;
}

const targets = new WeakMap<object, ProxyTarget>();

/** The target for the dashboard's environment, built once per (cached) environment object. */
export function proxyTargetFrom(env: {
  HUB_URL: string;
  FRONT_END_SECRET?: string | undefined;
  TRUST_PROXY: string[];
}): ProxyTarget {
  let target = targets.get(env);
  if (target === undefined) {
    target = { hubUrl: env.HUB_URL, frontEndSecret: env.FRONT_END_SECRET, trustedProxies: createTrustedProxies(env.TRUST_PROXY) };
    targets.set(env, target);
  }
  return target;
}

function firstValue(header: string | null): string | undefined {
  return header?.split(",")[0]?.trim() || undefined;
}

/**
 * The visitor behind a request. Only the connection's own peer counts, unless that peer is a
 * listed proxy: then its X-Forwarded-For is read from the right, skipping listed proxies, and
 * its -Proto and -Host are believed. A browser's X-Forwarded-* headers change nothing.
 */
export function describeVisitor(headers: Headers, trustedProxies?: BlockList): Visitor {
  const peerHeader = isPeerStamped() ? headers.get(PEER_HEADER) : null;
  const peer = peerHeader && isIP(unmapIPv4(peerHeader)) ? unmapIPv4(peerHeader) : undefined;
  if (peer === undefined || !isTrustedProxy(peer, trustedProxies))
    return { address: peer, proto: "http", host: headers.get("host") };
  const address = resolveForwardedClient(peer, headers.get("x-forwarded-for") ?? "", trustedProxies);
  return {
    address,
    proto: firstValue(headers.get("x-forwarded-proto")) === "https" ? "https" : "http",
    host: firstValue(headers.get("x-forwarded-host")) ?? headers.get("host"),
  };
}

/**
 * What the hub needs to count and audit the visitor rather than this server: their address and
 * scheme (replacing, never appending to, anything the browser sent) and the secret that makes
 * the hub believe them. Without the secret the hub ignores these, unless it lists this server in
 * its own TRUST_PROXY.
 */
export function visitorHeaders(visitor: Visitor, target: ProxyTarget): Record<string, string> {
  const headers: Record<string, string> = { "x-forwarded-proto": visitor.proto };
  if (visitor.address !== undefined) headers["x-forwarded-for"] = visitor.address;
  if (target.frontEndSecret !== undefined) headers[FRONT_END_HEADER] = target.frontEndSecret;
  return headers;
}

/**
 * Refuses cross-site requests that could change state with the user's cookie. The hub already
 * refuses cookie-authenticated bodies that are not JSON (a form cannot send JSON without a CORS
 * preflight, which nobody answers); this adds the browser's own word on where a request comes
 * from, so a JSON-ish text/plain trick or a future hub change does not open a gap. GET and HEAD
 * have no side effects (tRPC runs mutations only on POST). A request without Origin and
 * Sec-Fetch-Site comes from no browser, so no cookie of a victim rides on it.
 */
export function refuseCrossSite(request: Request, visitor: Visitor = describeVisitor(request.headers)): string | undefined {
  if (request.method === "GET" || request.method === "HEAD") return undefined;
  const origin = request.headers.get("origin");
  // The host this server was reached on: a browser's own X-Forwarded-Host would let any page
  // name itself the dashboard.
  const host = visitor.host;
  if (origin !== null) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || host === null || originHost !== host) {
      return "Cross-site request refused: use the dashboard itself, not a page of another site";
    }
    return undefined;
  }
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    return "Cross-site request refused: use the dashboard itself, not a page of another site";
  }
  return undefined;
}

/**
 * Forwards one /trpc request to the hub and streams the answer back as it comes: Set-Cookie
 * headers (several of them) reach the browser as the hub sent them, and a live-update
 * subscription (text/event-stream) flows event by event. The browser's Host goes along, so the
 * hub decides the session cookie's Secure flag for the origin the browser actually uses, and so
 * does the visitor's address (see visitorHeaders).
 */
export async function forwardToHub(request: Request, path: string, target: ProxyTarget): Promise<Response> {
  const visitor = describeVisitor(request.headers, target.trustedProxies);
  const refusal = refuseCrossSite(request, visitor);
  if (refusal !== undefined) return jsonError(403, refusal);

  const incoming = new URL(request.url);
  const upstreamUrl = new URL(`${target.hubUrl}/trpc/${path}${incoming.search}`);
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  Object.assign(headers, visitorHeaders(visitor, target));
  if (visitor.host !== null) headers.host = visitor.host;

  let body: Buffer | undefined;
  if (request.method !== "GET" && request.method !== "HEAD") {
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > MAX_BODY_BYTES) return jsonError(413, "Request too large");
    body = Buffer.from(await request.arrayBuffer());
    if (body.length > MAX_BODY_BYTES) return jsonError(413, "Request too large");
    headers["content-length"] = String(body.length);
  }

  let upstream: IncomingMessage;
  try {
    upstream = await sendUpstream(upstreamUrl, request.method, headers, body, request.signal);
  } catch {
    return jsonError(
      502,
      `The dashboard cannot reach the hub at ${target.hubUrl}: check that it is running (npm start starts both) and HUB_URL`,
    );
  }

  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, item);
  }
  const isEventStream = (upstream.headers["content-type"] ?? "").startsWith("text/event-stream");
  if (isEventStream) {
    // no-transform keeps compression (and proxies honouring it) from holding events back.
    responseHeaders.set("cache-control", "no-cache, no-transform");
    responseHeaders.set("x-accel-buffering", "no");
  }
  // The browser went away: stop reading from the hub, which ends the subscription there too.
  request.signal.addEventListener("abort", () => upstream.destroy(), { once: true });
  const status = upstream.statusCode ?? 502;
  // The hub refuses some requests before tRPC sees them (plain HTTP from another machine, a
  // front-end secret that is not its own) with `{ "error": "<what to do>" }`; reshaped, the
  // page shows that sentence instead of failing to read a tRPC answer.
  if (status === 403 && !isEventStream) {
    const body = await readSmallBody(upstream);
    const refusal = readHubRefusal(body);
    if (refusal !== undefined) return jsonError(403, refusal);
    return new Response(request.method === "HEAD" ? null : new Uint8Array(body), { status, headers: responseHeaders });
  }
  const hasBody = request.method !== "HEAD" && status !== 204 && status !== 304;
  return new Response(hasBody ? (Readable.toWeb(upstream) as ReadableStream<Uint8Array>) : null, {
    status,
    headers: responseHeaders,
  });
}

/** An error answer, whole: the hub's are a sentence or a tRPC error, far below the cap. */
async function readSmallBody(upstream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of upstream) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      upstream.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The hub's refusal sentence, or undefined when the 403 is a tRPC answer (FORBIDDEN from a procedure). */
function readHubRefusal(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { error?: unknown };
    return typeof parsed.error === "string" ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

function sendUpstream(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const upstreamRequest = send(url, { method, headers, signal }, resolve);
    upstreamRequest.on("error", reject);
    upstreamRequest.end(body);
  });
}

function jsonError(status: number, message: string): Response {
  return Response.json({ error: { message } }, { status, headers: { "cache-control": "no-store" } });
}
