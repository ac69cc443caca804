import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";

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
  "x-forwarded-for",
  "x-forwarded-proto",
];

/** Hop-by-hop headers (RFC 9110 7.6.1) end at each hop; the rest of the hub's answer passes. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

/** The largest request body forwarded: tRPC control-plane calls are small (the hub allows 1 MiB). */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ProxyTarget {
  /** The hub's base URL, e.g. http://127.0.0.1:3001 */
  hubUrl: string;
}

/**
 * Refuses cross-site requests that could change state with the user's cookie. The hub already
 * refuses cookie-authenticated bodies that are not JSON (a form cannot send JSON without a CORS
 * preflight, which nobody answers); this adds the browser's own word on where a request comes
 * from, so a JSON-ish text/plain trick or a future hub change does not open a gap. GET and HEAD
 * have no side effects (tRPC runs mutations only on POST). A request without Origin and
 * Sec-Fetch-Site comes from no browser, so no cookie of a victim rides on it.
 */
export function refuseCrossSite(request: Request): string | undefined {
  if (request.method === "GET" || request.method === "HEAD") return undefined;
  const origin = request.headers.get("origin");
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
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
 * hub decides the session cookie's Secure flag for the origin the browser actually uses.
 */
export async function forwardToHub(request: Request, path: string, target: ProxyTarget): Promise<Response> {
  const refusal = refuseCrossSite(request);
  if (refusal !== undefined) return jsonError(403, refusal);

  const incoming = new URL(request.url);
  const upstreamUrl = new URL(`${target.hubUrl}/trpc/${path}${incoming.search}`);
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const host = request.headers.get("host");
  if (host !== null) headers.host = host;

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
  const hasBody = request.method !== "HEAD" && status !== 204 && status !== 304;
  return new Response(hasBody ? (Readable.toWeb(upstream) as ReadableStream<Uint8Array>) : null, {
    status,
    headers: responseHeaders,
  });
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
