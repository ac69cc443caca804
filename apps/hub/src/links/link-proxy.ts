import { type ClientRequest, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { type ApiDeps, createRateLimiter, type RateLimiter, recordLinkAccess } from "@private-connect/api";
import { ResetCode } from "@private-connect/protocol";
import type { Logger } from "pino";
import type { LocalStream } from "../relay/local-stream.js";
import { OpenRefusal } from "../relay/relay-authority.js";
import { auditPath, createAccessRecords } from "./access-records.js";
import { buildDownstreamHeaders, buildUpstreamHeaders, type DownstreamContext } from "./forward-headers.js";
import { createLinkAdmission, type LinkAdmitted, type LinkRefusal } from "./link-admission.js";
import { CUT_ANSWERS, type Cut, createLinkCuts } from "./link-cuts.js";
import { sendText, serializeResponseHead, writeProxiedHead, writeRawText } from "./link-responses.js";
import type { LinkTarget } from "./link-routing.js";

/** What the proxy needs of the relay: a stream to the exposing agent (RelayServer.openLocalStream). */
export interface LocalStreamOpener {
  /**
   * `grant` is the exposing agent, its service and its workspace (the link's). Rejects with an
   * OpenRefusal when the service cannot be reached (its agent offline, the hub shutting down or
   * unable to ask Redis which hub holds the agent).
   */
  openLocalStream(grant: { agentId: string; serviceName: string; workspaceId: string }, label: string): Promise<LocalStream>;
}

export interface LinkProxyOptions {
  deps: ApiDeps;
  relay: LocalStreamOpener;
  log: Logger;
  /** The visitor's address as the hub reads it (TRUST_PROXY-aware). */
  readClientIp(req: IncomingMessage): string;
  /** Whether the visitor reached the hub over TLS, for X-Forwarded-Proto. */
  isSecureRequest(req: IncomingMessage): boolean;
  /** Clock of the rate limiter and of link expiry, in ms. */
  now?: () => number;
  /**
   * Counts each link's visitors per address. Default: in memory, for one hub; a cluster passes
   * the Redis-backed one so the limit holds across hubs.
   */
  rateLimiter?: RateLimiter;
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

/** After a response completed, how long the service may take to close its end before the hub resets it. */
const STREAM_LINGER_MS = 5_000;

const MESSAGES = {
  unavailable: "The hub cannot check this link right now: try again in a moment.",
  offline: "The service behind this link is offline: its agent is not connected to the hub.",
  noAnswer: "The service behind this link did not answer: try again later.",
  badTarget: "Bad request: the request target cannot be forwarded.",
  redirectOut:
    "Bad gateway: the service behind this link redirected to another site, which a /l/ link does not pass on. Its owner can serve it on its own host (LINK_DOMAIN) instead.",
} as const;

/**
 * The public links proxy. Each request is admitted (link-admission.ts: link, method, path, rate,
 * route), then goes over one stream through the relay to the exposing agent, with the request and
 * response bodies streamed under its flow control. Never retries: a request reaches the service at
 * most once. Revoking a link cuts its requests and WebSockets in flight, and so does its expiry
 * (link-cuts.ts); every request is recorded in the link's access log (access-records.ts).
 */
export function createLinkProxy(options: LinkProxyOptions): LinkProxy {
  const { deps, relay, log } = options;
  const now = options.now ?? Date.now;
  const admission = createLinkAdmission({ deps, rateLimiter: options.rateLimiter ?? createRateLimiter(), now });
  const cuts = createLinkCuts({ revocations: deps.revocations, log, now });
  const records = createAccessRecords({
    write: (access) => recordLinkAccess(deps, access),
    log,
    maxPending: options.maxPendingAccessRecords ?? 256,
  });

  /** What the response filter needs to know of the request it answers. */
  function downstreamContext(
    req: IncomingMessage,
    target: LinkTarget,
    admitted: LinkAdmitted,
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
      servicePath: admitted.forwardTarget,
    };
  }

  /** Says, once per response, which cookies a service tried to set and did not: its owner may wonder. */
  function noteDroppedCookies(admitted: LinkAdmitted, reasons: readonly string[]): void {
    if (reasons.length > 0) log.info({ linkId: admitted.link.id, reasons }, "dropped Set-Cookie headers of a link response");
  }

  /** Opens the relay stream, or says (502/503) why not. */
  async function openStream(admitted: LinkAdmitted): Promise<LocalStream | { status: number; message: string }> {
    try {
      const grant = { ...admitted.route, workspaceId: admitted.link.workspaceId };
      const stream = await relay.openLocalStream(grant, `link ${admitted.link.slugHint}`);
      // Errors reach the request through node:http; this keeps a late one from being unhandled.
      stream.on("error", () => {});
      return stream;
    } catch (error) {
      if (!(error instanceof OpenRefusal)) throw error;
      return {
        status: error.code === ResetCode.UNAVAILABLE ? 503 : 502,
        message: error.code === ResetCode.SERVICE_OFFLINE ? MESSAGES.offline : error.message,
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
    admitted: LinkAdmitted,
    stream: LocalStream,
    ip: string,
    isUpgrade: boolean,
  ): ClientRequest | undefined {
    try {
      return httpRequest({
        method: req.method ?? "GET",
        path: admitted.forwardTarget,
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

  async function proxyRequest(
    req: IncomingMessage,
    res: ServerResponse,
    target: LinkTarget,
    admitted: LinkAdmitted,
    ip: string,
    startedAt: number,
  ): Promise<void> {
    const { link } = admitted;
    const method = req.method ?? "GET";
    const finish = (status: number, isServed: boolean) =>
      records.record(link, {
        ip,
        method,
        path: admitted.path,
        status,
        durationMs: Math.round(performance.now() - startedAt),
        isServed,
      });
    const opened = await openStream(admitted);
    if (!("destroy" in opened)) {
      sendText(res, req, opened.status, opened.message);
      finish(opened.status, false);
      return;
    }
    const stream = opened;
    // The visitor left while the stream was being opened: its response closed already, so no
    // 'close' below would ever tear the stream down.
    if (req.socket.destroyed) {
      stream.destroy();
      finish(499, false);
      return;
    }
    const upstream = requestUpstream(req, admitted, stream, ip, false);
    if (upstream === undefined) {
      sendText(res, req, 400, MESSAGES.badTarget);
      finish(400, false);
      return;
    }
    let hasResponse = false;
    let cutBy: Cut | undefined;
    const forget = cuts.track(link, (why) => {
      cutBy = why;
      const answer = CUT_ANSWERS[why];
      stream.abort(ResetCode.REVOKED, answer.resetReason);
      upstream.destroy();
      if (res.headersSent) res.destroy();
      else sendText(res, req, answer.status, answer.message);
    });
    upstream.on("response", (upstreamRes) => {
      hasResponse = true;
      const status = upstreamRes.statusCode ?? 502;
      const head = buildDownstreamHeaders(upstreamRes.rawHeaders, downstreamContext(req, target, admitted, status, false));
      if (head.kind === "refused") {
        log.info({ linkId: link.id, status, header: head.header }, "refused a redirect out of a /l/ link");
        upstreamRes.resume();
        sendText(res, req, 502, MESSAGES.redirectOut);
        return;
      }
      noteDroppedCookies(admitted, head.droppedCookies);
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

  async function proxyUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: LinkTarget,
    admitted: LinkAdmitted,
    ip: string,
    startedAt: number,
  ): Promise<void> {
    const { link } = admitted;
    const method = req.method ?? "GET";
    let status = 0;
    const finish = () =>
      records.record(link, {
        ip,
        method,
        path: admitted.path,
        status: status || 499,
        durationMs: Math.round(performance.now() - startedAt),
        isServed: status !== 0 && status !== 502,
      });
    const opened = await openStream(admitted);
    if (!("destroy" in opened)) {
      status = opened.status;
      writeRawText(socket, opened.status, opened.message);
      finish();
      return;
    }
    const stream = opened;
    // The visitor left while the stream was being opened: its 'close' went by already.
    if (socket.destroyed) {
      stream.destroy();
      finish();
      return;
    }
    const upstream = requestUpstream(req, admitted, stream, ip, true);
    if (upstream === undefined) {
      status = 400;
      writeRawText(socket, 400, MESSAGES.badTarget);
      finish();
      return;
    }
    let isCut = false;
    const forget = cuts.track(link, (why) => {
      isCut = true;
      const answer = CUT_ANSWERS[why];
      stream.abort(ResetCode.REVOKED, answer.resetReason);
      upstream.destroy();
      if (status === 0) {
        status = answer.status;
        writeRawText(socket, status, answer.message);
      } else socket.destroy();
    });
    upstream.on("upgrade", (upstreamRes, upstreamSocket, upstreamHead) => {
      const upgradeStatus = upstreamRes.statusCode ?? 101;
      const downstream = buildDownstreamHeaders(
        upstreamRes.rawHeaders,
        downstreamContext(req, target, admitted, upgradeStatus, true),
      );
      if (downstream.kind === "refused") {
        status = 502;
        upstreamSocket.destroy();
        writeRawText(socket, 502, MESSAGES.redirectOut);
        return;
      }
      status = upgradeStatus;
      noteDroppedCookies(admitted, downstream.droppedCookies);
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
        downstreamContext(req, target, admitted, declinedStatus, false),
      );
      if (downstream.kind === "refused") {
        status = 502;
        upstreamRes.resume();
        writeRawText(socket, 502, MESSAGES.redirectOut);
        return;
      }
      status = declinedStatus;
      noteDroppedCookies(admitted, downstream.droppedCookies);
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

  /** Records a refusal of an existing link, except those a flood could repeat for free. */
  function recordRefusal(refusal: LinkRefusal, method: string, target: LinkTarget, ip: string, startedAt: number): void {
    if (refusal.link === undefined || refusal.isRecorded === false) return;
    records.record(refusal.link, {
      ip,
      method,
      path: auditPath(target.target),
      status: refusal.status,
      durationMs: Math.round(performance.now() - startedAt),
      isServed: false,
    });
  }

  return {
    handleRequest(req, res, target) {
      const startedAt = performance.now();
      const ip = options.readClientIp(req);
      const method = req.method ?? "GET";
      admission
        .admit(target, req, ip)
        .then((admitted) => {
          if (admitted.kind === "refused") {
            sendText(res, req, admitted.status, admitted.message, admitted.headers);
            recordRefusal(admitted, method, target, ip, startedAt);
            return;
          }
          // The visitor left while the link was being checked: nothing to open a stream for.
          if (req.socket.destroyed) return;
          return proxyRequest(req, res, target, admitted, ip, startedAt);
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
      admission
        .admit(target, req, ip)
        .then((admitted) => {
          if (admitted.kind === "refused") {
            writeRawText(socket, admitted.status, admitted.message, admitted.headers);
            recordRefusal(admitted, method, target, ip, startedAt);
            return;
          }
          if (socket.destroyed) return;
          return proxyUpgrade(req, socket, head, target, admitted, ip, startedAt);
        })
        .catch((error: unknown) => {
          log.error({ err: String(error) }, "could not serve a link upgrade");
          if (socket.writable) writeRawText(socket, 503, MESSAGES.unavailable);
          else socket.destroy();
        });
    },

    close() {
      cuts.close();
    },
  };
}
