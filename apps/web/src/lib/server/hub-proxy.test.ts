import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTrustedProxies, parseTrustedProxies } from "@private-connect/trusted-proxies";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeVisitor, FRONT_END_HEADER, forwardToHub, PEER_HEADER, refuseCrossSite } from "./hub-proxy";

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

  it("compares Origin with the Host it was reached on, never a browser's X-Forwarded-Host", () => {
    const forged = post({ origin: "http://evil.example", "x-forwarded-host": "evil.example" });
    expect(refuseCrossSite(forged)).toMatch(/Cross-site request refused/);
    // The dashboard's own page is not turned away by a stray header either.
    expect(refuseCrossSite(post({ origin: DASHBOARD, "x-forwarded-host": "evil.example" }))).toBeUndefined();
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

/** As apps/web/server.mjs does for every request in the process it runs. */
const PEER_STAMP = Symbol.for("private-connect.dashboard.peer-header");

describe("the visitor a request speaks for", () => {
  beforeEach(() => {
    (globalThis as Record<symbol, unknown>)[PEER_STAMP] = PEER_HEADER;
  });
  afterEach(() => {
    delete (globalThis as Record<symbol, unknown>)[PEER_STAMP];
  });

  const proxies = (value: string) => {
    const networks = parseTrustedProxies(value, "the dashboard");
    if (typeof networks === "string") throw new Error(networks);
    return createTrustedProxies(networks);
  };
  const forgedBy = (peer: string) =>
    new Headers({
      host: "127.0.0.1:3000",
      [PEER_HEADER]: peer,
      "x-forwarded-for": "203.0.113.66",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "evil.example",
    });

  it("is the connection's peer; the browser's X-Forwarded-* headers change nothing", () => {
    expect(describeVisitor(forgedBy("127.0.0.7"))).toEqual({ address: "127.0.0.7", proto: "http", host: "127.0.0.1:3000" });
    expect(describeVisitor(forgedBy("::ffff:127.0.0.7")).address).toBe("127.0.0.7");
    expect(describeVisitor(forgedBy("127.0.0.7"), proxies("10.0.0.0/8")).address).toBe("127.0.0.7");
  });

  it("is what a listed proxy saw, when the peer is that proxy", () => {
    expect(describeVisitor(forgedBy("10.1.1.1"), proxies("10.0.0.0/8"))).toEqual({
      address: "203.0.113.66",
      proto: "https",
      host: "evil.example",
    });
  });

  it("has no address when nothing stamped the peer (bare next start): a browser's header is not one", () => {
    delete (globalThis as Record<symbol, unknown>)[PEER_STAMP];
    expect(describeVisitor(forgedBy("127.0.0.7")).address).toBeUndefined();
  });
});

describe("what the hub hears about the visitor", () => {
  let hub: Server;
  let hubUrl: string;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    (globalThis as Record<symbol, unknown>)[PEER_STAMP] = PEER_HEADER;
    hub = createServer((request, response) => {
      seen.push(request);
      if (request.url?.startsWith("/trpc/refused")) {
        response.writeHead(403, { "content-type": "application/json" });
        response.end(
          JSON.stringify({ error: "This request names itself the dashboard but its front-end secret is not this hub's" }),
        );
        return;
      }
      if (request.url?.startsWith("/trpc/forbidden")) {
        response.writeHead(403, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: "Only owners can do this", data: { code: "FORBIDDEN" } } }));
        return;
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
    await new Promise<void>((resolve) => hub.listen(0, "127.0.0.1", resolve));
    hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    delete (globalThis as Record<symbol, unknown>)[PEER_STAMP];
    await new Promise((resolve) => hub.close(resolve));
  });

  it("the peer the dashboard saw, replacing the browser's X-Forwarded-*, and the front-end secret", async () => {
    const secret = "s".repeat(40);
    const request = post({
      origin: DASHBOARD,
      [PEER_HEADER]: "127.0.0.8",
      "x-forwarded-for": "203.0.113.66",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "evil.example",
      [FRONT_END_HEADER]: "the browser's guess",
    });
    expect((await forwardToHub(request, "auth.requestMagicLink", { hubUrl, frontEndSecret: secret })).status).toBe(200);
    expect(seen.at(-1)?.headers).toMatchObject({
      "x-forwarded-for": "127.0.0.8",
      "x-forwarded-proto": "http",
      host: "127.0.0.1:3000",
      [FRONT_END_HEADER]: secret,
    });
    expect(seen.at(-1)?.headers[PEER_HEADER]).toBeUndefined();
  });

  it("no secret configured: nothing of the browser's that claims to be one", async () => {
    const request = post({ origin: DASHBOARD, [PEER_HEADER]: "127.0.0.8", [FRONT_END_HEADER]: "the browser's guess" });
    await forwardToHub(request, "auth.me", { hubUrl });
    expect(seen.at(-1)?.headers[FRONT_END_HEADER]).toBeUndefined();
  });

  it("shows the hub's own refusals as a message the page can read, and passes a procedure's FORBIDDEN as it is", async () => {
    const refused = await forwardToHub(post({ origin: DASHBOARD }), "refused", { hubUrl });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: { message: expect.stringMatching(/front-end secret is not this hub's/) } });
    const forbidden = await forwardToHub(post({ origin: DASHBOARD }), "forbidden", { hubUrl });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ error: { message: "Only owners can do this", data: { code: "FORBIDDEN" } } });
  });
});
