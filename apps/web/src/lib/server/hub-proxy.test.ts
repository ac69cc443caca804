import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forwardToHub, refuseCrossSite } from "./hub-proxy";

const DASHBOARD = "http://127.0.0.1:3000";

function post(headers: Record<string, string>): Request {
  return new Request(`${DASHBOARD}/trpc/apiKeys.create`, {
    method: "POST",
    headers: { host: "127.0.0.1:3000", "content-type": "application/json", ...headers },
    body: "{}",
  });
}

describe("the /trpc proxy's cross-site check", () => {
  it("lets the dashboard's own pages through", () => {
    expect(refuseCrossSite(post({ origin: DASHBOARD }))).toBeUndefined();
    expect(refuseCrossSite(post({ "sec-fetch-site": "same-origin" }))).toBeUndefined();
    // No browser, no victim's cookie: curl and scripts send neither header.
    expect(refuseCrossSite(post({}))).toBeUndefined();
  });

  it("refuses another origin, even a same-site one on another port, and a forged null origin", () => {
    for (const origin of ["http://127.0.0.1:4000", "http://evil.example", "null", "http://127.0.0.1:3000.evil.example"]) {
      expect(refuseCrossSite(post({ origin })), origin).toMatch(/Cross-site request refused/);
    }
    expect(refuseCrossSite(post({ "sec-fetch-site": "same-site" }))).toMatch(/Cross-site/);
    expect(refuseCrossSite(post({ "sec-fetch-site": "cross-site" }))).toMatch(/Cross-site/);
  });

  it("leaves reads alone: GET runs no mutation", () => {
    const read = new Request(`${DASHBOARD}/trpc/auth.me`, { headers: { host: "127.0.0.1:3000", origin: "http://evil.example" } });
    expect(refuseCrossSite(read)).toBeUndefined();
  });
});

describe("forwarding to the hub", () => {
  let hub: Server;
  let hubUrl: string;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    hub = createServer((request, response) => {
      seen.push(request);
      if (request.url?.startsWith("/trpc/events.workspace")) {
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.write("data: first\n\n");
        return;
      }
      response.setHeader("set-cookie", ["pc_session=a; HttpOnly", "other=b"]);
      response.writeHead(200, { "content-type": "application/json", connection: "close" });
      response.end('{"result":{"data":1}}');
    });
    await new Promise<void>((resolve) => hub.listen(0, "127.0.0.1", resolve));
    hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    hub.closeAllConnections();
    await new Promise((resolve) => hub.close(resolve));
  });

  it("passes the cookie, workspace and Host along, drops Authorization, and returns every Set-Cookie", async () => {
    const response = await forwardToHub(
      post({ origin: DASHBOARD, cookie: "pc_session=s", "x-pc-workspace": "w", authorization: "Bearer pc_secret" }),
      "apiKeys.create",
      { hubUrl },
    );
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual(["pc_session=a; HttpOnly", "other=b"]);
    expect(response.headers.get("connection")).toBeNull();
    expect(await response.json()).toEqual({ result: { data: 1 } });
    const request = seen.at(-1);
    expect(request?.headers).toMatchObject({ cookie: "pc_session=s", "x-pc-workspace": "w", host: "127.0.0.1:3000" });
    expect(request?.headers.authorization).toBeUndefined();
  });

  it("streams a live-update response event by event instead of waiting for its end", async () => {
    const abort = new AbortController();
    const request = new Request(`${DASHBOARD}/trpc/events.workspace?connectionParams=%7B%7D`, {
      headers: { host: "127.0.0.1:3000" },
      signal: abort.signal,
    });
    const response = await forwardToHub(request, "events.workspace", { hubUrl });
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toBe("data: first\n\n");
    abort.abort();
  });

  it("says where the hub should be when it is not there", async () => {
    const response = await forwardToHub(post({ origin: DASHBOARD }), "auth.me", { hubUrl: "http://127.0.0.1:1" });
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /cannot reach the hub at http:\/\/127\.0\.0\.1:1/,
    );
  });
});
