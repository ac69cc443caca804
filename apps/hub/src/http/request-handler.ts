import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { type ApiDeps, appRouter, createContextFromRequest } from "@private-connect/api";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { Logger } from "pino";
import type { LinkProxy } from "../links/link-proxy.js";
import type { LinkTarget } from "../links/link-routing.js";
import { checkMetricsAccess } from "./metrics-access.js";
import { handleProvision } from "./provision-route.js";
import { requestLog, startRequestLog } from "./request-log.js";
import { sendJson } from "./responses.js";

export interface HttpRoutesOptions {
  deps: ApiDeps;
  /** Undefined when the hub should get traffic; otherwise why not, for /readyz (503). */
  readinessProblem(): Promise<string | undefined>;
  /** The /metrics text; behind --workers it is gathered from every worker, so it may wait (or fail). */
  renderMetrics(): string | Promise<string>;
  /** METRICS_TOKEN: /metrics wants it as a bearer token; unset, /metrics answers loopback only. */
  metricsToken?: string | undefined;
  readClientIp(req: IncomingMessage): string;
  /** Every line about a request goes through its child logger, which carries the request id. */
  log: Logger;
  /** Public links: requests for a link host or /l/<slug>/ go to the link proxy, before any hub route. */
  links?: { match(req: IncomingMessage): LinkTarget | undefined; proxy: LinkProxy };
}

/** Plain HTTP routes of the hub: the tRPC control plane and health endpoints. */
export function createRequestHandler(options: HttpRoutesOptions): RequestListener {
  const trpc = createHTTPHandler({
    router: appRouter,
    createContext: createContextFromRequest(options.deps, options.readClientIp),
    basePath: "/trpc/",
    // Control-plane requests are small; a huge body is an attack, not a request.
    maxBodySize: 1024 * 1024,
    onError({ error, path, req }) {
      // Refusals (unauthorized, not found, bad input) are answers, not faults; the access line
      // has their status. Faults get the error, scrubbed, under the request's id.
      const log = requestLog(req, options.log);
      if (error.code === "INTERNAL_SERVER_ERROR") log.error({ err: error.cause ?? error, procedure: path }, "procedure failed");
      else log.debug({ procedure: path, code: error.code }, "procedure refused");
    },
  });
  return (req: IncomingMessage, res: ServerResponse) => {
    const log = startRequestLog(options.log, req, res, options.readClientIp);
    const linkTarget = options.links?.match(req);
    if (linkTarget) {
      options.links?.proxy.handleRequest(req, res, linkTarget);
      return;
    }
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/healthz") {
      sendJson(res, 200, { status: "ok" });
      return;
    }
    if (path === "/readyz") {
      options.readinessProblem().then(
        (problem) =>
          sendJson(
            res,
            problem === undefined ? 200 : 503,
            problem === undefined ? { status: "ready" } : { status: "unavailable", reason: problem },
          ),
        () => sendJson(res, 503, { status: "unavailable", reason: "The hub could not check its readiness" }),
      );
      return;
    }
    if (path === "/metrics") {
      const access = checkMetricsAccess(req, options.metricsToken);
      if (access.kind === "refused") {
        for (const [name, value] of Object.entries(access.headers ?? {})) res.setHeader(name, value);
        sendJson(res, access.status, { error: access.message });
        return;
      }
      Promise.resolve()
        .then(() => options.renderMetrics())
        .then(
          (text) => {
            res.writeHead(200, { "content-type": "text/plain; version=0.0.4", "content-length": Buffer.byteLength(text) });
            res.end(text);
          },
          (error: unknown) => {
            log.error({ err: error }, "metrics scrape failed");
            if (!res.headersSent)
              sendJson(res, 500, { error: "Could not gather the hub's metrics: try again, and see the hub's log" });
            else res.destroy();
          },
        );
      return;
    }
    if (path === "/v1/agents/provision") {
      handleProvision(options.deps, req, res).catch((error: unknown) => {
        log.error({ err: error }, "provision request failed");
        if (!res.headersSent) sendJson(res, 500, { error: "Internal error in the hub: try again" });
        else res.destroy();
      });
      return;
    }
    if (path.startsWith("/trpc/")) {
      trpc(req, res);
      return;
    }
    sendJson(res, 404, { error: "Not found" });
  };
}
