import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { flood, probeFake } from "../test-support/fake-service.js";
import { encodeSslRequest, encodeStartupMessage, POSTGRES_CHECK_USER, probePostgres } from "./postgres-probe.js";

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

function errorResponse(code: string, text: string): Buffer {
  return message("E", Buffer.from(`SFATAL\u0000C${code}\u0000M${text}\u0000\u0000`, "utf8"));
}

/** A PostgreSQL that says N to TLS, then answers the startup message with `answer`. */
function postgresAnswering(answer: Buffer) {
  return (socket: Socket, received: () => Buffer) => {
    let isStarted = false;
    socket.on("data", () => {
      const bytes = received();
      if (bytes.length === 8 && !isStarted) socket.write("N");
      if (bytes.length > 8 && !isStarted) {
        isStarted = true;
        socket.write(answer);
      }
    });
  };
}

describe("probePostgres", () => {
  it("sends an SSLRequest, then a startup message for a user nobody has, and never a password", async () => {
    const result = await probeFake(
      probePostgres,
      postgresAnswering(message("R", Buffer.concat([int32(10), Buffer.from("SCRAM-SHA-256\u0000\u0000")]))),
    );
    expect(result).toMatchObject({ isHealthy: true, summary: "PostgreSQL asks for SCRAM-SHA-256 authentication" });
    expect(result?.details).toMatchObject({ tls: false, auth: "SCRAM-SHA-256" });
    // Exactly the two messages: nothing after the authentication request.
    expect(result?.sent).toEqual(Buffer.concat([encodeSslRequest(), encodeStartupMessage(POSTGRES_CHECK_USER)]));
  });

  it("counts an error about the missing role as a live PostgreSQL, in the server's words", async () => {
    const result = await probeFake(
      probePostgres,
      postgresAnswering(errorResponse("28000", 'role "connect_check" does not exist')),
    );
    expect(result).toMatchObject({ isHealthy: true, summary: 'PostgreSQL answered: role "connect_check" does not exist' });
    expect(result.details.errorCode).toBe("28000");
    expect(result.probeMs).toBeGreaterThan(0);
  });

  it("reports the server version when the server lets the user in", async () => {
    const parameter = message("S", Buffer.from("server_version\u000016.4\u0000"));
    const answer = Buffer.concat([
      message("R", int32(0)),
      parameter,
      message("K", Buffer.alloc(8)),
      message("Z", Buffer.from("I")),
    ]);
    const result = await probeFake(probePostgres, postgresAnswering(answer));
    expect(result).toMatchObject({ isHealthy: true, details: { version: "16.4", auth: "none (trusted)" } });
  });

  it("says a PostgreSQL that is starting up is not serving yet", async () => {
    const result = await probeFake(
      probePostgres,
      postgresAnswering(errorResponse("57P03", "the database system is starting up")),
    );
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toBe("PostgreSQL is up but refuses connections now: the database system is starting up");
  });

  it("recognises a service that is not PostgreSQL from its answer to the SSLRequest", async () => {
    const result = await probeFake(probePostgres, (socket) =>
      socket.once("data", () => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n")),
    );
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toBe("the service answered H to an SSLRequest, where PostgreSQL says S or N: it is not PostgreSQL");
  });

  it("refuses a length field no PostgreSQL message has", async () => {
    const garbage = Buffer.concat([Buffer.from("R"), int32(1_000_000_000)]);
    const result = await probeFake(probePostgres, postgresAnswering(garbage));
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toMatch(/^the service answered the startup message with bytes PostgreSQL does not send/);
  });

  it("gives up on a silent service at the deadline", async () => {
    const result = await probeFake(probePostgres, () => {}, { timeoutMs: 300 });
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toMatch(/went quiet: the answer to the SSLRequest did not come within the timeout/);
    expect(result.elapsedMs).toBeLessThan(1_500);
  });

  it("stops reading a flood of messages after its cap and hangs up", async () => {
    let floodedBytes: Promise<number> = Promise.resolve(0);
    const notice = message("N", Buffer.from(`SNOTICE\u0000M${"x".repeat(1000)}\u0000\u0000`));
    const result = await probeFake(probePostgres, (socket, received) => {
      socket.on("data", () => {
        if (received().length === 8) socket.write("N");
        else floodedBytes = flood(socket, Buffer.concat(Array.from({ length: 64 }, () => notice)));
      });
    });
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toMatch(/far more than/);
    expect(await floodedBytes).toBeLessThan(64 * 1024 * 1024);
  });
});
