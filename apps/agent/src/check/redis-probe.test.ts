import { describe, expect, it } from "vitest";
import { flood, probeFake } from "../test-support/fake-service.js";
import { probeRedis, readBulkString } from "./redis-probe.js";

const INFO = "# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\n";

describe("probeRedis", () => {
  it("gets PONG, then the version from INFO server", async () => {
    const result = await probeFake(probeRedis, (socket, received) => {
      socket.on("data", () => {
        const sent = received().toString();
        if (sent.endsWith("PING\r\n")) socket.write("+PONG\r\n");
        if (sent.endsWith("server\r\n")) socket.write(`$${Buffer.byteLength(INFO)}\r\n${INFO}\r\n`);
      });
    });
    expect(result).toMatchObject({
      isHealthy: true,
      summary: "Redis 7.2.4 answered PONG",
      details: { auth: "none", version: "7.2.4" },
    });
    expect(result.sent.toString()).toBe("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");
  });

  it("counts NOAUTH as a live Redis that wants a password", async () => {
    const result = await probeFake(probeRedis, (socket) =>
      socket.once("data", () => socket.write("-NOAUTH Authentication required.\r\n")),
    );
    expect(result).toMatchObject({ isHealthy: true, details: { auth: "required" } });
  });

  it("says so when Redis answers PING with an error", async () => {
    const result = await probeFake(probeRedis, (socket) =>
      socket.once("data", () => socket.end("-DENIED Redis is running in protected mode\r\n")),
    );
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toMatch(/with an error.*: DENIED Redis is running in protected mode$/);
  });

  it("recognises a service that is not Redis", async () => {
    const result = await probeFake(probeRedis, (socket) =>
      socket.once("data", () => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n")),
    );
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toBe("the service answered PING with HTTP/1.1 400 Bad Request, not +PONG: it is not Redis");
  });

  it("stops reading an endless line", async () => {
    let flooded: Promise<number> = Promise.resolve(0);
    const result = await probeFake(probeRedis, (socket) => {
      socket.once("data", () => {
        flooded = flood(socket, Buffer.alloc(16 * 1024, "+"));
      });
    });
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toMatch(/longer than Redis sends|far more than/);
    expect(await flooded).toBeLessThan(64 * 1024 * 1024);
  });

  it("gives up on a silent service at the deadline", async () => {
    const result = await probeFake(probeRedis, () => {}, { timeoutMs: 300 });
    expect(result.problem).toMatch(/went quiet: the answer to PING did not come within the timeout/);
  });

  it("reads RESP bulk strings whole or not at all", () => {
    expect(readBulkString(Buffer.from("$5\r\nhello\r\n"))).toBe("hello");
    expect(readBulkString(Buffer.from("$5\r\nhel"))).toBe("partial");
    expect(readBulkString(Buffer.from("+OK\r\n"))).toBeUndefined();
    expect(readBulkString(Buffer.from("$999999999\r\n"))).toBeUndefined();
  });
});
