import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isLoopbackAddress } from "../config/client-address.js";

// /metrics names workspaces' traffic in aggregate, the hub's load and its refusals: nothing a
// stranger should read. With METRICS_TOKEN set it takes that token as a bearer token from
// anyone (a Prometheus elsewhere); without it, it answers only this machine.

export type MetricsAccess =
  | { kind: "allowed" }
  | { kind: "refused"; status: 401 | 403; message: string; headers?: Record<string, string> };

/** Headers a proxy adds: a request that carries one came from somewhere else, whatever its socket says. */
const FORWARDING_HEADERS = ["x-forwarded-for", "forwarded", "x-real-ip"] as const;

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Whether the request carries the token, compared in constant time (digests of equal length). */
function hasBearerToken(req: IncomingMessage, token: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? "");
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), digest(token));
}

/** Whether a /metrics request may be answered; the refusal says what to do instead. */
export function checkMetricsAccess(req: IncomingMessage, metricsToken: string | undefined): MetricsAccess {
  if (metricsToken !== undefined) {
    if (hasBearerToken(req, metricsToken)) return { kind: "allowed" };
    return {
      kind: "refused",
      status: 401,
      message: "Unauthorized: /metrics needs this hub's METRICS_TOKEN, sent as Authorization: Bearer <token>",
      headers: { "www-authenticate": 'Bearer realm="metrics"' },
    };
  }
  // A local reverse proxy (or the dashboard) connects from loopback on a remote visitor's behalf.
  const isForwarded = FORWARDING_HEADERS.some((name) => req.headers[name] !== undefined);
  if (isLoopbackAddress(req.socket?.remoteAddress) && !isForwarded) return { kind: "allowed" };
  return {
    kind: "refused",
    status: 403,
    message:
      "Forbidden: without METRICS_TOKEN this hub answers /metrics only on this machine (loopback). Set METRICS_TOKEN and send it as Authorization: Bearer <token>",
  };
}
