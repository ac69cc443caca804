import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";

/** Answered often by machines (probes, scrapers): logged at debug so they do not drown the rest. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

const requestLogs = new WeakMap<IncomingMessage, Logger>();

/**
 * Gives the request an id (sent back as `x-request-id`, so a user can quote it) and a child
 * logger carrying it, and writes one access line when the response ends. The line has the path
 * without its query string: queries carry tRPC inputs and sign-in tokens. The logger scrubs
 * what is left (a link slug in /l/<slug>, the address under `ip`).
 */
export function startRequestLog(
  base: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  readClientIp: (req: IncomingMessage) => string,
): Logger {
  const reqId = randomUUID();
  const log = base.child({ reqId });
  requestLogs.set(req, log);
  res.setHeader("x-request-id", reqId);
  const started = process.hrtime.bigint();
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  // Read now: by the time the response closes the socket may be gone (a client that hung up),
  // and a throw in a close handler would take the whole hub down.
  const ip = readClientIp(req);
  res.once("close", () => {
    const fields = {
      method: req.method,
      path,
      status: res.statusCode,
      durationMs: Number((process.hrtime.bigint() - started) / 1_000_000n),
      ip,
      ...(res.writableFinished ? {} : { isAborted: true }),
    };
    if (QUIET_PATHS.has(path)) log.debug(fields, "request completed");
    else log.info(fields, "request completed");
  });
  return log;
}

/** The logger of a request that went through startRequestLog, for handlers that only get `req`. */
export function requestLog(req: IncomingMessage, fallback: Logger): Logger {
  return requestLogs.get(req) ?? fallback;
}
