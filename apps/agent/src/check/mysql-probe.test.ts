import { describe, expect, it } from "vitest";
import { flood, probeFake } from "../test-support/fake-service.js";
import { parseMysqlGreeting, probeMysql } from "./mysql-probe.js";

function packet(payload: Buffer, sequence = 0): Buffer {
  const header = Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, (payload.length >> 16) & 0xff, sequence]);
  return Buffer.concat([header, payload]);
}

/** An initial handshake packet as MySQL 8 and MariaDB send it. */
function greeting(version: string, capabilities = 0xffff): Buffer {
  const connectionId = Buffer.alloc(4);
  connectionId.writeUInt32LE(42);
  const lower = Buffer.alloc(2);
  lower.writeUInt16LE(capabilities);
  return packet(
    Buffer.concat([
      Buffer.from([10]),
      Buffer.from(`${version}\u0000`),
      connectionId,
      Buffer.from("abcdefgh"),
      Buffer.from([0]),
      lower,
      Buffer.from([0x21, 0x02, 0x00, 0xff, 0x81, 21]),
      Buffer.alloc(10),
      Buffer.from("ijklmnopqrst\u0000"),
      Buffer.from("caching_sha2_password\u0000"),
    ]),
  );
}

describe("probeMysql", () => {
  it("reads MySQL's greeting: protocol 10, its version, TLS offered, the auth plugin", async () => {
    const result = await probeFake(probeMysql, (socket) => socket.write(greeting("8.0.36")));
    expect(result).toMatchObject({ isHealthy: true, summary: "MySQL 8.0.36 greeted" });
    expect(result.details).toEqual({
      server: "MySQL",
      version: "8.0.36",
      protocolVersion: 10,
      connectionId: 42,
      tls: true,
      authPlugin: "caching_sha2_password",
    });
    // Read only: the probe never answers the handshake.
    expect(result.sent.length).toBe(0);
  });

  it("gives MariaDB's own version, without the 5.5.5- prefix it shows old clients", async () => {
    const result = await probeFake(probeMysql, (socket) =>
      socket.write(greeting("5.5.5-10.11.6-MariaDB-0+deb12u1", 0xffff & ~0x0800)),
    );
    expect(result.details).toMatchObject({ server: "MariaDB", version: "10.11.6-MariaDB-0+deb12u1", tls: false });
  });

  it("reports a server that refuses this host with its error, as not healthy", async () => {
    const error = Buffer.concat([Buffer.from([0xff, 0x6a, 0x04]), Buffer.from("Host '10.0.0.9' is not allowed to connect")]);
    const result = await probeFake(probeMysql, (socket) => socket.end(packet(error)));
    expect(result.isHealthy).toBe(false);
    expect(result.details.errorCode).toBe(1130);
    expect(result.problem).toMatch(
      /refuses connections from the exposing agent: Host '10.0.0.9' is not allowed to connect \(error 1130\)/,
    );
  });

  it("recognises a service whose first bytes are not a greeting", async () => {
    const result = await probeFake(probeMysql, (socket) => socket.write("SSH-2.0-OpenSSH_9.2\r\n"));
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toMatch(/^the service's first bytes are not a MySQL greeting|claims \d+ bytes/);
  });

  it("refuses a first packet far bigger than a greeting without waiting for it", async () => {
    const result = await probeFake(
      probeMysql,
      (socket) => void flood(socket, Buffer.from([0xff, 0xff, 0xff, 0x00, ...Buffer.alloc(60_000)])),
    );
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toBe(
      "the service's first packet claims 16777215 bytes, far more than a MySQL greeting: it is not MySQL",
    );
  });

  it("says a service that sends nothing is no MySQL, at the deadline", async () => {
    const result = await probeFake(probeMysql, () => {}, { timeoutMs: 300 });
    expect(result.problem).toMatch(/went quiet: the MySQL greeting did not come within the timeout/);
    expect(result.elapsedMs).toBeLessThan(1_500);
  });

  it("does not trust a version without digits", () => {
    expect(parseMysqlGreeting(Buffer.from("\nhello\u0000"))).toBeUndefined();
  });
});
