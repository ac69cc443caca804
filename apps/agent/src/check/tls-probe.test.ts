import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PeerCertificate, TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { probeFake } from "../test-support/fake-service.js";
import { describeCertificate, probeTls } from "./tls-probe.js";

/** A self-signed certificate from openssl (node:crypto cannot make one); undefined without openssl. */
function makeCertificate(): { cert: Buffer; key: Buffer } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "pc-check-tls-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "10"].concat([
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-subj",
        "/CN=db.internal/O=Acme",
      ]),
      { stdio: "ignore" },
    );
    return { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pair = makeCertificate();
if (pair === undefined) console.warn("WARNING: no openssl: the TLS probe's handshake test was SKIPPED");

describe("probeTls", () => {
  it.runIf(pair !== undefined)("completes a handshake and describes a self-signed certificate", async () => {
    const result = await probeFake(probeTls, (socket: Socket) => {
      const secured = new TLSSocket(socket, { isServer: true, cert: pair?.cert, key: pair?.key });
      secured.on("error", () => {});
    });
    expect(result.isHealthy).toBe(true);
    expect(result.details).toMatchObject({ subject: "db.internal", issuer: "db.internal", verified: false, daysLeft: 9 });
    expect(result.details.verifyError).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(result.summary).toBe("TLS handshake done: db.internal, 9 days left (not verified)");
  });

  it("says a service that answers a ClientHello with plaintext does not speak TLS", async () => {
    const result = await probeFake(probeTls, (socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n")),
    );
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toMatch(/^the TLS handshake failed/);
  });

  it("gives up on a silent service at the deadline", async () => {
    const result = await probeFake(probeTls, () => {}, { timeoutMs: 300 });
    expect(result.problem).toMatch(/^no TLS handshake within the timeout/);
    expect(result.elapsedMs).toBeLessThan(1_500);
  });

  it("calls an expired certificate not healthy, with the date", () => {
    const certificate = {
      subject: { CN: "old.example" },
      issuer: { CN: "Example CA" },
      valid_to: "Jan  1 00:00:00 2024 GMT",
    } as unknown as PeerCertificate;
    const result = describeCertificate(certificate, true, null, "TLSv1.3", 3, new Date("2024-03-01T00:00:00Z"));
    expect(result.isHealthy).toBe(false);
    expect(result.details).toMatchObject({ verified: true, daysLeft: -60, validTo: "2024-01-01T00:00:00.000Z" });
    expect(result.problem).toBe("its certificate expired on 2024-01-01T00:00:00.000Z: renew it on the server");
  });
});
