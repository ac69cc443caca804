import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import type { ApiDeps } from "@private-connect/api";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { checkMetricsAccess } from "./metrics-access.js";
import { createRequestHandler } from "./request-handler.js";

const TOKEN = "metrics-token-0123456789abcdef";
const METRICS_TEXT = "# HELP pc_streams_open Streams open\npc_streams_open 3\n";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** The hub's request handler on a real socket, bound to `host`; /metrics never touches the control plane. */
async function serveHub(
  host: string,
  metricsToken?: string,
  renderMetrics: () => string | Promise<string> = () => METRICS_TEXT,
): Promise<{ host: string; port: number }> {
  const handler = createRequestHandler({
    deps: { config: {} } as unknown as ApiDeps,
    readinessProblem: async () => undefined,
    renderMetrics,
    metricsToken,
    readClientIp: (req) => req.socket.remoteAddress ?? "unknown",
    log: createLogger("silent"),
  });
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, host, resolve));
  return { host, port: (server.address() as AddressInfo).port };
}

/** GET /metrics from `localAddress` (the source address the hub sees), with extra headers. */
function getMetrics(
  hub: { host: string; port: number },
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<{ status: number; body: string; headers: IncomingMessage["headers"] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: hub.host, port: hub.port, path: "/metrics", headers, localAddress, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.setTimeout(5_000, () => req.destroy(new Error("no answer from /metrics within 5 s")));
    req.end();
  });
}

/** An address of this machine that is not loopback, if it has one: a client from "elsewhere". */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry !== undefined && entry.family === "IPv4" && !entry.internal)?.address;

describe("/metrics without METRICS_TOKEN", () => {
  it("answers a client on this machine", async () => {
    const reply = await getMetrics(await serveHub("127.0.0.1"));
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(METRICS_TEXT);
  });

  it("refuses a request a local proxy forwarded for someone else", async () => {
    const hub = await serveHub("127.0.0.1");
    // Annotated: an array of three different literal shapes would otherwise be inferred as a
    // union with optional `undefined` members, which is not a header record.
    const forwardedFor: Record<string, string>[] = [
      { "x-forwarded-for": "203.0.113.9" },
      { forwarded: "for=203.0.113.9" },
      { "x-real-ip": "203.0.113.9" },
    ];
    for (const headers of forwardedFor) {
      const reply = await getMetrics(hub, headers);
      expect(reply.status, JSON.stringify(headers)).toBe(403);
      expect(reply.body).not.toContain("pc_streams_open");
      expect(JSON.parse(reply.body).error).toContain("METRICS_TOKEN");
    }
  });

  it.skipIf(outsideAddress === undefined)("refuses a client on another address of the network", async () => {
    const address = outsideAddress ?? "";
    const reply = await getMetrics(await serveHub(address), {}, address);
    expect(reply.status).toBe(403);
    expect(reply.body).not.toContain("pc_streams_open");
  });

  it("decides on the socket's address, loopback in both families", () => {
    const from = (remoteAddress: string) => ({ socket: { remoteAddress }, headers: {} }) as unknown as IncomingMessage;
    for (const address of ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.0.2"]) {
      expect(checkMetricsAccess(from(address), undefined), address).toEqual({ kind: "allowed" });
    }
    for (const address of ["192.0.2.10", "::ffff:192.0.2.10", "2001:db8::1", "10.0.0.1", "::"]) {
      expect(checkMetricsAccess(from(address), undefined), address).toMatchObject({ kind: "refused", status: 403 });
    }
  });
});

describe("/metrics with METRICS_TOKEN", () => {
  it("wants the token as a bearer token, even from this machine", async () => {
    const hub = await serveHub("127.0.0.1", TOKEN);
    const missing = await getMetrics(hub);
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toBe('Bearer realm="metrics"');
    expect(missing.body).not.toContain("pc_streams_open");
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, "Bearer "]) {
      expect((await getMetrics(hub, { authorization })).status, authorization).toBe(401);
    }
    const granted = await getMetrics(hub, { authorization: `Bearer ${TOKEN}` });
    expect(granted.status).toBe(200);
    expect(granted.body).toBe(METRICS_TEXT);
    expect((await getMetrics(hub, { authorization: `bearer ${TOKEN}` })).status).toBe(200);
    // A scraper behind a proxy is fine: the token is the proof, not the address.
    expect((await getMetrics(hub, { authorization: `Bearer ${TOKEN}`, "x-forwarded-for": "203.0.113.9" })).status).toBe(200);
  });

  it.skipIf(outsideAddress === undefined)("answers a scraper on another address that has it", async () => {
    const address = outsideAddress ?? "";
    const hub = await serveHub(address, TOKEN);
    expect((await getMetrics(hub, {}, address)).status).toBe(401);
    expect((await getMetrics(hub, { authorization: `Bearer ${TOKEN}` }, address)).status).toBe(200);
  });
});

describe("/metrics that must be gathered (behind --workers)", () => {
  it("answers once the text is ready", async () => {
    const reply = await getMetrics(await serveHub("127.0.0.1", undefined, async () => METRICS_TEXT));
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(METRICS_TEXT);
  });

  it("answers 500 with a JSON error when it cannot be gathered", async () => {
    const hub = await serveHub("127.0.0.1", undefined, async () => {
      throw new Error("The hub's primary did not gather the workers' metrics within 3000 ms");
    });
    const reply = await getMetrics(hub);
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body)).toEqual({ error: "Could not gather the hub's metrics: try again, and see the hub's log" });
  });
});
