import { describe, expect, it } from "vitest";
import { flood, probeFake } from "../test-support/fake-service.js";
import { parseHttpHead, probeHttp } from "./http-probe.js";

describe("probeHttp", () => {
  it("sends HEAD / with the service's name as Host and reports status and Server", async () => {
    const result = await probeFake(
      probeHttp,
      (socket) =>
        socket.once("data", () =>
          socket.write("HTTP/1.1 301 Moved Permanently\r\nServer: nginx/1.25\r\nLocation: /login\r\n\r\n"),
        ),
      { serviceName: "prod-api" },
    );
    expect(result).toMatchObject({ isHealthy: true, summary: "HTTP 301 Moved Permanently from nginx/1.25" });
    expect(result.details).toEqual({ status: 301, httpVersion: "1.1", server: "nginx/1.25", location: "/login" });
    expect(result.sent.toString()).toMatch(/^HEAD \/ HTTP\/1\.1\r\nHost: prod-api\r\n/);
  });

  it("calls a 5xx answer HTTP, but not healthy", async () => {
    const result = await probeFake(probeHttp, (socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 503 Service Unavailable\r\n\r\n")),
    );
    expect(result.isHealthy).toBe(false);
    expect(result.details.status).toBe(503);
    expect(result.problem).toMatch(/answered 503: it is up but failing/);
  });

  it("recognises a service that does not speak HTTP, showing what it sent", async () => {
    const result = await probeFake(probeHttp, (socket) => socket.once("data", () => socket.end("SSH-2.0-OpenSSH_9.2\r\n")));
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toBe("the service closed the connection before an HTTP answer; it sent SSH-2.0-OpenSSH_9.2\\r\\n");
  });

  it("stops reading headers that never end", async () => {
    let flooded: Promise<number> = Promise.resolve(0);
    const result = await probeFake(probeHttp, (socket) => {
      socket.once("data", () => {
        socket.write("HTTP/1.1 200 OK\r\n");
        flooded = flood(socket, Buffer.from(`X-Junk: ${"a".repeat(1000)}\r\n`));
      });
    });
    // The status line came: that is HTTP, read no further than the cap.
    expect(result.details.status).toBe(200);
    expect(await flooded).toBeLessThan(64 * 1024 * 1024);
  });

  it("gives up on a silent service at the deadline", async () => {
    const result = await probeFake(probeHttp, () => {}, { timeoutMs: 300 });
    expect(result.problem).toMatch(/went quiet: an HTTP answer did not come within the timeout/);
  });

  it("parses only real status lines", () => {
    expect(parseHttpHead("HTTP/1.0 200 OK\r\nServer: x")?.headers.get("server")).toBe("x");
    expect(parseHttpHead("HTTP/2 200")).toBeUndefined();
    expect(parseHttpHead("hello")).toBeUndefined();
  });
});
