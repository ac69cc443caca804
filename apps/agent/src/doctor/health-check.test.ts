import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkClockSkew } from "./clock-check.js";
import { checkHealth, fetchHealth } from "./health-check.js";

let server: Server | undefined;

/** A stand-in hub answering /healthz with `status`, its clock `skewMs` off this machine's. */
async function startHub(options: { status?: number; skewMs?: number; isSilent?: boolean }): Promise<string> {
  server = createServer((request, response) => {
    if (options.isSilent) return;
    // An explicit Date replaces the one Node adds: the hub's clock, as the agent would see it.
    response.setHeader("date", new Date(Date.now() + (options.skewMs ?? 0)).toUTCString());
    response.writeHead(request.url === "/healthz" ? (options.status ?? 200) : 404, { "content-type": "application/json" });
    response.end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe("healthz and the clock against the hub's", () => {
  it("pass for a hub that answers 200 with the same time", async () => {
    const url = await startHub({});
    const answer = await fetchHealth(url);
    expect(checkHealth(url, answer).status).toBe("pass");
    expect(checkClockSkew(answer)).toMatchObject({ status: "pass", detail: "within 1 s of the hub's" });
  });

  it("fails the clock when the hub's Date is ten minutes ahead: tokens and links expire by time", async () => {
    const url = await startHub({ skewMs: 10 * 60_000 });
    const check = checkClockSkew(await fetchHealth(url));
    expect(check).toMatchObject({
      status: "fail",
      detail: "this machine's clock is 10 min behind the hub's: tokens and links expire by time",
    });
    expect(check.fix).toContain("NTP");
  });

  it("warns between 30 s and 5 min, either way", async () => {
    const url = await startHub({ skewMs: -45_000 });
    const check = checkClockSkew(await fetchHealth(url));
    expect(check.status).toBe("warn");
    expect(check.detail).toMatch(/^this machine's clock is 4[4-6] s ahead of the hub's$/);
  });

  it("fails a /healthz that is not 200", async () => {
    const url = await startHub({ status: 503 });
    expect(checkHealth(url, await fetchHealth(url))).toMatchObject({
      status: "fail",
      detail: `GET ${url}/healthz answered 503, not 200`,
    });
  });

  it("fails a hub that accepts the connection but never answers, within the timeout", async () => {
    const url = await startHub({ isSilent: true });
    const started = Date.now();
    const answer = await fetchHealth(url, { timeoutMs: 300 }).catch((error: Error) => error);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(checkHealth(url, answer as Error)).toMatchObject({
      status: "fail",
      detail: `GET ${url}/healthz failed: no answer within 0.3 s`,
    });
    expect(checkClockSkew(undefined).status).toBe("skip");
  });
});
