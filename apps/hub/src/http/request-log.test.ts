import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { requestLog, startRequestLog } from "./request-log.js";

const AGENT_TOKEN = randomBytes(32).toString("hex");

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  [key: string]: unknown;
}

function captureLogger() {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  const log = createLogger("debug", destination);
  const text = () => chunks.join("");
  const lines = () =>
    text()
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Line);
  return { log, text, lines };
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A real HTTP server whose handler logs through startRequestLog, as the hub's does. */
async function serve(clientIp: string) {
  const captured = captureLogger();
  server = createServer((req, res) => {
    // Touches the socket like the hub's reader does: after a client hangs up it is null, and a
    // reader called then would throw inside a close handler and crash the hub.
    const log = startRequestLog(captured.log, req, res, (request) => {
      if (request.socket === null) throw new TypeError("Cannot read properties of null (reading 'remoteAddress')");
      return clientIp;
    });
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/fail") {
      // A handler deeper down, that only has `req`, finds the same logger.
      requestLog(req, captured.log).error({ err: new Error(`upstream refused Bearer ${AGENT_TOKEN}`) }, "procedure failed");
      res.statusCode = 500;
      res.end();
      return;
    }
    if (path === "/detached") {
      // What Node does to some requests whose connection went away before the response closed
      // (seen with a 413 that closes the connection): the request loses its socket.
      Object.defineProperty(req, "socket", { value: null, configurable: true });
      res.statusCode = 413;
      res.end();
      return;
    }
    if (path === "/hang") {
      log.info("waiting forever");
      return;
    }
    res.statusCode = path === "/healthz" ? 200 : 404;
    res.end();
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { ...captured, base: `http://127.0.0.1:${port}` };
}

describe("startRequestLog", () => {
  it("gives every request an id, sends it back, and puts it on every line about the request", async () => {
    const { base, lines, text } = await serve("203.0.113.9");
    const first = await fetch(`${base}/trpc/agents.me?input=${AGENT_TOKEN}`, {
      headers: { authorization: `Bearer ${AGENT_TOKEN}` },
    });
    const second = await fetch(`${base}/fail`);
    const firstId = first.headers.get("x-request-id");
    const secondId = second.headers.get("x-request-id");
    expect(firstId).toMatch(/^[0-9a-f-]{36}$/);
    expect(secondId).toMatch(/^[0-9a-f-]{36}$/);
    expect(firstId).not.toBe(secondId);
    await expect.poll(() => lines().filter((line) => line.msg === "request completed").length).toBe(2);

    const access = lines().find((line) => line.reqId === firstId && line.msg === "request completed");
    expect(access).toMatchObject({ method: "GET", path: "/trpc/agents.me", status: 404, ip: "203.0.x.x", level: 30 });
    expect(typeof access?.durationMs).toBe("number");

    const failure = lines().filter((line) => line.reqId === secondId);
    expect(failure.map((line) => line.msg)).toEqual(["procedure failed", "request completed"]);
    expect(failure[0]?.err).toMatchObject({ type: "Error", message: "upstream refused Bearer [REDACTED]" });
    expect(failure[1]).toMatchObject({ status: 500 });

    // Neither the query string nor the header reached the log.
    expect(text()).not.toContain(AGENT_TOKEN);
    expect(text()).not.toContain("203.0.113.9");
    for (const line of lines()) expect(line.reqId, JSON.stringify(line)).toBeDefined();
  });

  it("redacts a link slug in the path and logs probes at debug", async () => {
    const { base, lines } = await serve("2001:db8:7::1");
    await fetch(`${base}/l/k3j4h5g6f7a8/api/v1?token=abc`);
    await fetch(`${base}/healthz`);
    await expect.poll(() => lines().length).toBe(2);
    const [link, probe] = lines();
    expect(link).toMatchObject({ path: "/l/[REDACTED]/api/v1", ip: "2001:db8:x:x:x:x:x:x", level: 30 });
    expect(probe).toMatchObject({ path: "/healthz", status: 200, level: 20 });
  });

  it("survives a request whose socket is gone by the time the response closes", async () => {
    const { base, lines } = await serve("192.0.2.44");
    expect((await fetch(`${base}/detached`)).status).toBe(413);
    await expect.poll(() => lines().some((line) => line.msg === "request completed")).toBe(true);
    expect(lines().find((line) => line.msg === "request completed")).toMatchObject({ path: "/detached", ip: "192.0.x.x" });
  });

  it("logs a request the client gave up on, with its id", async () => {
    const { base, lines } = await serve("198.51.100.7");
    const controller = new AbortController();
    const pending = fetch(`${base}/hang`, { signal: controller.signal }).catch(() => undefined);
    await expect.poll(() => lines().some((line) => line.msg === "waiting forever")).toBe(true);
    controller.abort();
    await pending;
    await expect.poll(() => lines().some((line) => line.msg === "request completed")).toBe(true);
    const [waiting, done] = lines();
    expect(done).toMatchObject({ reqId: waiting?.reqId, path: "/hang", isAborted: true, ip: "198.51.x.x" });
  });
});
