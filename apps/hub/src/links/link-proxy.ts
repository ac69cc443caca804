import { type ClientRequest, request as httpRequest, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import { isIPv6 } from "node:net";
import type { Duplex } from "node:stream";
import {
  type ApiDeps,
  createRateLimiter,
  type LinkAccess,
  PUBLIC_LINK_EXPIRED,
  PUBLIC_LINK_NOT_FOUND,
  PUBLIC_LINK_SERVICE_GONE,
  type ResolvedLink,
  recordLinkAccess,
  resolveLinkForRequest,
} from "@private-connect/api";
import { ResetCode } from "@private-connect/protocol";
import type { Logger } from "pino";
import type { LocalStream } from "../relay/local-stream.js";
import { OpenRefusal } from "../relay/relay-server.js";
import { buildDownstreamHeaders, buildUpstreamHeaders, type DownstreamContext } from "./forward-headers.js";
import type { LinkTarget } from "./link-routing.js";
import { findForbiddenOverride } from "./method-override.js";
import { checkRequestPath } from "./path-policy.js";

/** What the proxy needs of the relay: a stream to the exposing agent (RelayServer.openLocalStream). */
export interface LocalStreamOpener {
  openLocalStream(route: { agentId: string; serviceName: string }, label: string): LocalStream;
}

export interface LinkProxyOptions {
  deps: ApiDeps;
  relay: LocalStreamOpener;
  log: Logger;
  /** The visitor's address as the hub reads it (TRUST_PROXY-aware). */
  readClientIp(req: IncomingMessage): string;
  /** Whether the visitor reached the hub over TLS, for X-Forwarded-Proto. */
  isSecureRequest(req: IncomingMessage): boolean;
  /** Clock of the rate limiter, in ms. */
  now?: () => number;
  /**
   * Access records being written at once. Past it a record is dropped (and counted in the log):
   * a flood of requests must not queue unbounded database writes behind it.
   */
  maxPendingAccessRecords?: number;
}

export interface LinkProxy {
  handleRequest(req: IncomingMessage, res: ServerResponse, target: LinkTarget): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: LinkTarget): void;
  /** Stops listening for revocations; requests in flight are left to the server's own shutdown. */
  close(): void;
}

type LinkSummary = Pick<ResolvedLink, "id" | "workspaceId" | "serviceName" | "slugHint">;

type Admission =
  | {
      kind: "refused";
      status: number;
      message: string;
      headers?: Record<string, string>;
      /** Set when the refusal concerns an existing link, so it can be recorded. */
      link?: LinkSummary;
      /** Refusals that cost nothing to repeat (429) are not recorded: a flood must not write. */
      isRecorded?: boolean;
    }
  | {
      kind: "admitted";
      link: ResolvedLink;
      route: { agentId: string; serviceName: string };
      path: string;
      forwardTarget: string;
    };

/** Why a request in flight is cut. */
type Cut = "revoked" | "expired";

const RATE_WINDOW_MS = 60_000;
/** A request that read its link just before a revocation committed is still caught for this long. */
const REVOKED_MEMORY_MS = 10 * 60_000;
const MAX_REMEMBERED_REVOCATIONS = 10_000;
/** After a response completed, how long the service may take to close its end before the hub resets it. */
const STREAM_LINGER_MS = 5_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const AUDIT_PATH_MAX = 512;

const MESSAGES = {
  revoked: PUBLIC_LINK_NOT_FOUND,
  expired: PUBLIC_LINK_EXPIRED,
  unavailable: "The hub cannot check this link right now: try again in a moment.",
  notExposed: PUBLIC_LINK_SERVICE_GONE,
  noAnswer: "The service behind this link did not answer: try again later.",
  badTarget: "Bad request: the request target cannot be forwarded.",
  redirectOut:
    "Bad gateway: the service behind this link redirected to another site, which a /l/ link does not pass on. Its owner can serve it on its own host (LINK_DOMAIN) instead.",
} as const;

/**
 * The key a visitor is rate limited under: the IPv4 address, or the /64 of an IPv6 address (one
 * host usually holds a whole /64, and would otherwise get 2^64 budgets).
 */
export function rateLimitKeyForIp(ip: string): string {
  const plain = ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
  if (!isIPv6(plain)) return plain;
  const [head = "", tail] = plain.toLowerCase().split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

function plainTextHeaders(body: string, extra: Record<string, string> = {}): Record<string, string | number> {
  return {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...extra,
  };
}

function hasRequestBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** A plain-text answer from the hub itself (a refusal, or an upstream failure). */
function sendText(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  message: string,
  extra?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  // An unread body would otherwise be read and thrown away to keep the connection: refuse both.
  const connection: Record<string, string> = !req.complete && hasRequestBody(req) ? { connection: "close" } : {};
  res.writeHead(status, plainTextHeaders(body, { ...extra, ...connection }));
  res.end(body);
}

/** The same answer on a raw socket, for an upgrade request. */
function writeRawText(socket: Duplex, status: number, message: string, extra: Record<string, string> = {}): void {
  const body = `${message}\n`;
  const headers = { ...plainTextHeaders(body, extra), connection: "close" };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n${lines.join("")}\r\n${body}`);
}

/**
 * Writes a proxied response head with every header line kept. Appended one by one because
 * writeHead(status, rawList) on a response that already has headers (the request id) keeps only
 * the last of repeated names, and two Set-Cookie must stay two.
 */
function writeProxiedHead(
  res: ServerResponse,
  status: number,
  statusMessage: string | undefined,
  headers: readonly string[],
): void {
  for (let index = 0; index + 1 < headers.length; index += 2) res.appendHeader(headers[index] ?? "", headers[index + 1] ?? "");
  res.writeHead(status, statusMessage);
}

/** A response's head on a raw socket, for the answer to an upgrade request. */
function serializeResponseHead(status: number, statusMessage: string | undefined, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${statusMessage || (STATUS_CODES[status] ?? "")}\r\n`;
  for (let index = 0; index + 1 < headers.length; index += 2) head += `${headers[index]}: ${headers[index + 1]}\r\n`;
  return `${head}\r\n`;
}

function auditPath(target: string): string {
  return (target.split("?")[0] ?? "/").slice(0, AUDIT_PATH_MAX);
}

/**
 * The public links proxy. For each request: the link (unknown or revoked 404, expired 410), the
 * method (405 with Allow), the path (403, or 400 when malformed), the visitor's rate (429 with
 * Retry-After), the service (502 when not reachable), then one stream through the relay to the
 * exposing agent, with the request and response bodies streamed under its flow control. Never
 * retries: a request reaches the service at most once. Revoking a link cuts its requests and
 * WebSockets in flight; so does its expiry.
 */
export function createLinkProxy(options: LinkProxyOptions): LinkProxy {
  const { deps, relay, log } = options;
  const now = options.now ?? Date.now;
  const maxPendingRecords = options.maxPendingAccessRecords ?? 256;
  const rateLimiter = createRateLimiter();
  const inFlight = new Map<string, Set<(why: Cut) => void>>();
  const revokedAt = new Map<string, number>();
  let pendingRecords = 0;
  let droppedRecords = 0;

  const stopListening = deps.revocations.subscribe((revocation) => {
    if (revocation.kind !== "link") return;
    revokedAt.delete(revocation.linkId);
    revokedAt.set(revocation.linkId, now());
    for (const [linkId, at] of revokedAt) {
      if (revokedAt.size <= MAX_REMEMBERED_REVOCATIONS && at > now() - REVOKED_MEMORY_MS) break;
      revokedAt.delete(linkId);
    }
    const cuts = inFlight.get(revocation.linkId);
    if (cuts === undefined) return;
    log.info({ linkId: revocation.linkId, requests: cuts.size }, "cutting the requests of a revoked link");
    for (const cut of [...cuts]) cut("revoked");
  });

  /** Registers a request in flight; returns the function that forgets it. */
  function track(link: ResolvedLink, cut: (why: Cut) => void): () => void {
    let cuts = inFlight.get(link.id);
    if (cuts === undefined) {
      cuts = new Set();
      inFlight.set(link.id, cuts);
    }
    let isCut = false;
    const once = (why: Cut) => {
      if (isCut) return;
      isCut = true;
      forget();
      cut(why);
    };
    cuts.add(once);
    let expiry: NodeJS.Timeout | undefined;
    // Timers cap at ~24.8 days, so a longer wait hops until the link's expiry is really there.
    const armExpiry = () => {
      const untilExpiry = link.expiresAt.getTime() - now();
      if (untilExpiry <= 0) {
        once("expired");
        return;
      }
      expiry = setTimeout(armExpiry, Math.min(untilExpiry, MAX_TIMER_MS));
      expiry.unref();
    };
    function forget(): void {
      clearTimeout(expiry);
      cuts?.delete(once);
      if (cuts?.size === 0) inFlight.delete(link.id);
    }
    // Revoked between our read of the link and now: the notice went by before we listened.
    if (revokedAt.has(link.id)) queueMicrotask(() => once("revoked"));
    else expiry = setTimeout(armExpiry, 0);
    return forget;
  }

  function record(
    link: LinkSummary,
    access: Omit<LinkAccess, "linkId" | "workspaceId" | "serviceName" | "slugHint" | "at">,
  ): void {
    if (pendingRecords >= maxPendingRecords) {
      droppedRecords++;
      if (droppedRecords === 1 || droppedRecords % 1_000 === 0) {
        log.warn({ dropped: droppedRecords }, "link access records dropped: the database is not keeping up");
      }
      return;
    }
    pendingRecords++;
    const entry: LinkAccess = {
      ...access,
      linkId: link.id,
      workspaceId: link.workspaceId,
      serviceName: link.serviceName,
      slugHint: link.slugHint,
      at: new Date(),
    };
    recordLinkAccess(deps, entry)
      .catch((error: unknown) => log.warn({ linkId: link.id, err: String(error) }, "could not record a link access"))
      .finally(() => {
        pendingRecords--;
      });
  }

  async function admit(target: LinkTarget, req: IncomingMessage, ip: string): Promise<Admission> {
    const method = req.method ?? "GET";
    const resolution = await resolveLinkForRequest(deps, target.slug);
    if (resolution.kind === "refused") {
      return { kind: "refused", status: resolution.status, message: resolution.message, link: resolution.link };
    }
    const { link } = resolution;
    if (link.methods.length > 0 && !link.methods.includes(method)) {
      return {
        kind: "refused",
        status: 405,
        message: `Method not allowed: this link accepts ${link.methods.join(", ")}.`,
        headers: { allow: link.methods.join(", ") },
        link,
      };
    }
    // A POST that the service would run as a DELETE is a DELETE.
    const override = findForbiddenOverride(req.rawHeaders, target.target, link.methods);
    if (override !== undefined) {
      return {
        kind: "refused",
        status: 405,
        message: `Method not allowed: this link accepts ${link.methods.join(", ")}, and ${override.source} asks for ${override.method}.`,
        headers: { allow: link.methods.join(", ") },
        link,
      };
    }
    const decision = checkRequestPath(target.target, link.paths);
    if (decision.kind === "refused") return { ...decision, link };
    if (link.rateLimitPerMinute !== null) {
      const limit = rateLimiter.take(
        [{ key: `${link.id} ${rateLimitKeyForIp(ip)}`, rule: { limit: link.rateLimitPerMinute, windowMs: RATE_WINDOW_MS } }],
        now(),
      );
      if (!limit.isAllowed) {
        const seconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
        return {
          kind: "refused",
          status: 429,
          message: `Too many requests: this link allows ${link.rateLimitPerMinute} per minute from one address. Try again in ${seconds} s.`,
          headers: { "retry-after": String(seconds) },
          link,
          isRecorded: false,
        };
      }
    }
    if (link.route === undefined) return { kind: "refused", status: 502, message: MESSAGES.notExposed, link };
    return { kind: "admitted", link, route: link.route, path: decision.path, forwardTarget: decision.forwardTarget };
  }

  /** What the response filter needs to know of the request it answers. */
  function downstreamContext(
    req: IncomingMessage,
    target: LinkTarget,
    admission: Extract<Admission, { kind: "admitted" }>,
    status: number,
    isUpgrade: boolean,
  ): DownstreamContext {
    const host = req.headers.host;
    return {
      isUpgrade,
      status,
      pathFormPrefix: target.form === "path" ? `/l/${target.slug}` : undefined,
      linkHostName: target.form === "host" ? host?.split(":")[0]?.toLowerCase().replace(/\.$/, "") : undefined,
      visitorOrigin: host === undefined ? undefined : `${options.isSecureRequest(req) ? "https" : "http"}://${host}`,
      servicePath: admission.forwardTarget,
    };
  }

  /** Says, once per response, which cookies a service tried to set and did not: its owner may wonder. */
  function noteDroppedCookies(link: ResolvedLink, reasons: readonly string[]): void {
    if (reasons.length > 0) log.info({ linkId: link.id, reasons }, "dropped Set-Cookie headers of a link response");
  }

  /** Opens the relay stream, or says (502/503) why not. */
  function openStream(admission: Extract<Admission, { kind: "admitted" }>): LocalStream | { status: number; message: string } {
    try {
      const stream = relay.openLocalStream(admission.route, `link ${admission.link.slugHint}`);
      // Errors reach the request through node:http; this keeps a late one from being unhandled.
      stream.on("error", () => {});
      return stream;
    } catch (error) {
      if (!(error instanceof OpenRefusal)) throw error;
      const isOffline = error.code === ResetCode.SERVICE_OFFLINE;
      return {
        status: error.code === ResetCode.UNAVAILABLE ? 503 : 502,
        message: isOffline ? "The service behind this link is offline: its agent is not connected to the hub." : error.message,
      };
    }
  }

  /**
   * The request to the service, over the link's own relay stream: no agent, so one stream per
   * request, never pooled and never retried. Undefined (and the stream closed) when Node refuses
   * the target or headers as given.
   */
  function requestUpstream(
    req: IncomingMessage,
    admission: Extract<Admission, { kind: "admitted" }>,
    stream: LocalStream,
    ip: string,
    isUpgrade: boolean,
  ): ClientRequest | undefined {
    try {
      return httpRequest({
        method: req.method ?? "GET",
        path: admission.forwardTarget,
        headers: buildUpstreamHeaders(req.rawHeaders, {
          clientIp: ip,
          proto: options.isSecureRequest(req) ? "https" : "http",
          isUpgrade,
        }),
        setHost: false,
        createConnection: () => stream,
      });
    } catch {
      stream.destroy();
      return undefined;
    }
  }

  function proxyRequest(
    req: IncomingMessage,
    res: ServerResponse,
    target: LinkTarget,
    admission: Extract<Admission, { kind: "admitted" }>,
    ip: string,
    startedAt: number,
  ): void {
    const { link } = admission;
    const method = req.method ?? "GET";
    const finish = (status: number, isServed: boolean) =>
      record(link, { ip, method, path: admission.path, status, durationMs: Math.round(performance.now() - startedAt), isServed });
    const opened = openStream(admission);
    if (!("destroy" in opened)) {
      sendText(res, req, opened.status, opened.message);
      finish(opened.status, false);
      return;
    }
    const stream = opened;
    const upstream = requestUpstream(req, admission, stream, ip, false);
    if (upstream === undefined) {
      sendText(res, req, 400, MESSAGES.badTarget);
      finish(400, false);
      return;
    }
    let hasResponse = false;
    let cutBy: Cut | undefined;
    const forget = track(link, (why) => {
      cutBy = why;
      stream.abort(ResetCode.REVOKED, why === "revoked" ? "The link was revoked" : "The link expired");
      upstream.destroy();
      if (res.headersSent) res.destroy();
      else sendText(res, req, why === "revoked" ? 404 : 410, why === "revoked" ? MESSAGES.revoked : MESSAGES.expired);
    });
    upstream.on("response", (upstreamRes) => {
      hasResponse = true;
      const status = upstreamRes.statusCode ?? 502;
      const head = buildDownstreamHeaders(upstreamRes.rawHeaders, downstreamContext(req, target, admission, status, false));
      if (head.kind === "refused") {
        log.info({ linkId: link.id, status, header: head.header }, "refused a redirect out of a /l/ link");
        upstreamRes.resume();
        sendText(res, req, 502, MESSAGES.redirectOut);
        return;
      }
      noteDroppedCookies(link, head.droppedCookies);
      writeProxiedHead(res, status, upstreamRes.statusMessage, head.headers);
      upstreamRes.pipe(res);
      // The stream was reset mid-body: the visitor must see a cut response, not a short one.
      upstreamRes.on("aborted", () => res.destroy());
      upstreamRes.on("error", () => res.destroy());
    });
    upstream.on("error", (error) => {
      if (cutBy !== undefined) return;
      if (!res.headersSent) {
        log.info({ linkId: link.id, err: error.message }, "link request got no answer from the service");
        sendText(res, req, 502, MESSAGES.noAnswer);
      } else res.destroy();
    });
    req.on("error", () => upstream.destroy());
    req.pipe(upstream);
    res.on("close", () => {
      forget();
      if (!res.writableFinished) {
        upstream.destroy();
        stream.destroy();
      } else if (!stream.destroyed) {
        // Complete: the service normally closes its end now; one that holds it open is reset.
        setTimeout(() => stream.destroy(), STREAM_LINGER_MS).unref();
      }
      finish(res.headersSent ? res.statusCode : 499, hasResponse);
    });
  }

  function proxyUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: LinkTarget,
    admission: Extract<Admission, { kind: "admitted" }>,
    ip: string,
    startedAt: number,
  ): void {
    const { link } = admission;
    const method = req.method ?? "GET";
    let status = 0;
    const finish = () =>
      record(link, {
        ip,
        method,
        path: admission.path,
        status: status || 499,
        durationMs: Math.round(performance.now() - startedAt),
        isServed: status !== 0 && status !== 502,
      });
    const opened = openStream(admission);
    if (!("destroy" in opened)) {
      status = opened.status;
      writeRawText(socket, opened.status, opened.message);
      finish();
      return;
    }
    const stream = opened;
    const upstream = requestUpstream(req, admission, stream, ip, true);
    if (upstream === undefined) {
      status = 400;
      writeRawText(socket, 400, MESSAGES.badTarget);
      finish();
      return;
    }
    let isCut = false;
    const forget = track(link, (why) => {
      isCut = true;
      stream.abort(ResetCode.REVOKED, why === "revoked" ? "The link was revoked" : "The link expired");
      upstream.destroy();
      if (status === 0) {
        status = why === "revoked" ? 404 : 410;
        writeRawText(socket, status, why === "revoked" ? MESSAGES.revoked : MESSAGES.expired);
      } else socket.destroy();
    });
    upstream.on("upgrade", (upstreamRes, upstreamSocket, upstreamHead) => {
      const upgradeStatus = upstreamRes.statusCode ?? 101;
      const downstream = buildDownstreamHeaders(
        upstreamRes.rawHeaders,
        downstreamContext(req, target, admission, upgradeStatus, true),
      );
      if (downstream.kind === "refused") {
        status = 502;
        upstreamSocket.destroy();
        writeRawText(socket, 502, MESSAGES.redirectOut);
        return;
      }
      status = upgradeStatus;
      noteDroppedCookies(link, downstream.droppedCookies);
      socket.write(serializeResponseHead(status, upstreamRes.statusMessage, downstream.headers));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      // Torn down as one: when either side ends or fails, both close.
      const teardown = () => {
        upstreamSocket.destroy();
        socket.destroy();
      };
      upstreamSocket.on("error", teardown);
      upstreamSocket.on("close", teardown);
      socket.on("close", teardown);
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
    });
    upstream.on("response", (upstreamRes) => {
      // The service declined the upgrade: pass its answer on, then close (the body is unframed).
      const declinedStatus = upstreamRes.statusCode ?? 502;
      const downstream = buildDownstreamHeaders(
        upstreamRes.rawHeaders,
        downstreamContext(req, target, admission, declinedStatus, false),
      );
      if (downstream.kind === "refused") {
        status = 502;
        upstreamRes.resume();
        writeRawText(socket, 502, MESSAGES.redirectOut);
        return;
      }
      status = declinedStatus;
      noteDroppedCookies(link, downstream.droppedCookies);
      socket.write(serializeResponseHead(status, upstreamRes.statusMessage, [...downstream.headers, "Connection", "close"]));
      upstreamRes.pipe(socket);
      upstreamRes.on("aborted", () => socket.destroy());
    });
    upstream.on("error", () => {
      if (isCut) return;
      if (status === 0) {
        status = 502;
        writeRawText(socket, 502, MESSAGES.noAnswer);
      } else socket.destroy();
    });
    socket.on("close", () => {
      forget();
      upstream.destroy();
      stream.destroy();
      finish();
    });
    upstream.end();
  }

  function refuse(
    admission: Extract<Admission, { kind: "refused" }>,
    method: string,
    target: LinkTarget,
    ip: string,
    startedAt: number,
  ) {
    if (admission.link !== undefined && admission.isRecorded !== false) {
      record(admission.link, {
        ip,
        method,
        path: auditPath(target.target),
        status: admission.status,
        durationMs: Math.round(performance.now() - startedAt),
        isServed: false,
      });
    }
  }

  return {
    handleRequest(req, res, target) {
      const startedAt = performance.now();
      const ip = options.readClientIp(req);
      const method = req.method ?? "GET";
      admit(target, req, ip)
        .then((admission) => {
          if (admission.kind === "refused") {
            sendText(res, req, admission.status, admission.message, admission.headers);
            refuse(admission, method, target, ip, startedAt);
            return;
          }
          // The visitor left while the link was being checked: nothing to open a stream for.
          if (req.socket.destroyed) return;
          proxyRequest(req, res, target, admission, ip, startedAt);
        })
        .catch((error: unknown) => {
          // The database is unreachable, or a fault of ours: never a crash of the hub.
          log.error({ err: String(error) }, "could not serve a link request");
          sendText(res, req, 503, MESSAGES.unavailable);
        });
    },

    handleUpgrade(req, socket, head, target) {
      socket.on("error", () => socket.destroy());
      const startedAt = performance.now();
      const ip = options.readClientIp(req);
      const method = req.method ?? "GET";
      admit(target, req, ip)
        .then((admission) => {
          if (admission.kind === "refused") {
            writeRawText(socket, admission.status, admission.message, admission.headers);
            refuse(admission, method, target, ip, startedAt);
            return;
          }
          if (socket.destroyed) return;
          proxyUpgrade(req, socket, head, target, admission, ip, startedAt);
        })
        .catch((error: unknown) => {
          log.error({ err: String(error) }, "could not serve a link upgrade");
          if (socket.writable) writeRawText(socket, 503, MESSAGES.unavailable);
          else socket.destroy();
        });
    },

    close() {
      stopListening();
    },
  };
}
