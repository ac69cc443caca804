import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTls, evaluateCertificate } from "./tls-check.js";

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
if (!hasOpenssl) console.warn("WARNING: openssl not found: the doctor's TLS tests against live certificates were skipped");

let dir: string;
const servers: Server[] = [];

/** A self-signed certificate for `names` valid for `days` (negative: already expired). */
async function makeCertificate(
  name: string,
  days: number,
  names = "DNS:localhost,IP:127.0.0.1",
): Promise<{ key: Buffer; cert: Buffer }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, `subjectAltName=${names}\n`);
  execFileSync("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"], {
    stdio: "ignore",
  });
  // x509 -req takes a negative -days: the way to an expired certificate without faking the clock.
  execFileSync("openssl", ["x509", "-req", "-in", csr, "-signkey", key, "-days", String(days), "-extfile", ext, "-out", cert], {
    stdio: "ignore",
  });
  return { key: await readFile(key), cert: await readFile(cert) };
}

async function serveTls(credentials: { key: Buffer; cert: Buffer }): Promise<number> {
  const server = createServer(credentials, (socket) => socket.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-doctor-tls-"));
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

if (!hasOpenssl)
  console.warn("Skipping the live TLS server cases of checkTls: openssl is not installed to make their certificates");

describe.runIf(hasOpenssl)("checkTls against a live TLS server", () => {
  it("passes a trusted certificate valid for the host, with its end date", async () => {
    const credentials = await makeCertificate("good", 365);
    const port = await serveTls(credentials);
    const check = await checkTls({ host: "localhost", port, ca: credentials.cert }, new Date());
    expect(check.status).toBe("pass");
    expect(check.detail).toMatch(/^certificate valid for localhost until \d{4}-\d{2}-\d{2} \(36[45] days\)$/);
  });

  it("fails a self-signed certificate this machine does not trust, and says how to trust a CA", async () => {
    const port = await serveTls(await makeCertificate("untrusted", 365));
    const check = await checkTls({ host: "localhost", port }, new Date());
    expect(check).toMatchObject({
      status: "fail",
      detail: "The hub's certificate is self-signed: this machine does not trust it",
    });
    expect(check.fix).toContain("NODE_EXTRA_CA_CERTS");
  });

  it("fails an expired certificate, even a trusted one", async () => {
    const credentials = await makeCertificate("expired", -1);
    const port = await serveTls(credentials);
    const check = await checkTls({ host: "localhost", port, ca: credentials.cert }, new Date());
    expect(check.status).toBe("fail");
    expect(check.detail).toMatch(/^The hub's certificate expired on \d{4}-\d{2}-\d{2}$/);
    expect(check.fix).toBe("renew the certificate of localhost");
  });

  it("warns about a certificate that ends within 14 days", async () => {
    const credentials = await makeCertificate("ending", 5);
    const port = await serveTls(credentials);
    const check = await checkTls({ host: "localhost", port, ca: credentials.cert }, new Date());
    expect(check.status).toBe("warn");
    expect(check.detail).toMatch(/^The hub's certificate expires in [45] days \(\d{4}-\d{2}-\d{2}\)$/);
  });

  it("fails a certificate made for another host", async () => {
    const credentials = await makeCertificate("other-host", 365, "DNS:hub.example.com");
    const port = await serveTls(credentials);
    const check = await checkTls({ host: "localhost", port, ca: credentials.cert }, new Date());
    expect(check).toMatchObject({ status: "fail", detail: "The hub's certificate is not valid for localhost" });
  });
});

describe("checkTls without a TLS server", () => {
  it("fails when the port speaks no TLS (closed here) and says what to look at", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const check = await checkTls({ host: "localhost", port }, new Date());
    expect(check.status).toBe("fail");
    expect(check.detail).toMatch(new RegExp(`^No TLS handshake with localhost:${port}: .*ECONNREFUSED`));
  });
});

describe("evaluateCertificate", () => {
  const now = new Date("2026-12-03T12:00:00Z");

  it("fails a verified certificate whose end has passed by this clock", () => {
    expect(
      evaluateCertificate({ host: "hub", authorizationError: undefined, validTo: "Dec  1 00:00:00 2026 GMT" }, now),
    ).toMatchObject({
      status: "fail",
      detail: "The hub's certificate expired on 2026-12-01",
    });
  });

  it("passes at exactly 14 days left and warns at 13", () => {
    expect(
      evaluateCertificate({ host: "hub", authorizationError: undefined, validTo: "Dec 17 12:00:00 2026 GMT" }, now).status,
    ).toBe("pass");
    expect(
      evaluateCertificate({ host: "hub", authorizationError: undefined, validTo: "Dec 17 11:59:00 2026 GMT" }, now).status,
    ).toBe("warn");
  });
});
