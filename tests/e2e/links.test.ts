// Public links through real processes: a Node HTTP (and WebSocket) server exposed by an agent,
// with links in front of it served by the hub in both URL forms. Methods, path prefixes (against
// a list of escape attempts sent as raw request targets), per-client rate limits, expiry,
// instant revocation of a response in flight, bodies of 200 MB streamed with the hub's memory
// bounded, and WebSocket upgrades. And what a service (or a visitor) might try through a link:
// method overrides, overlong UTF-8 and padded dot segments, redirects off the hub's origin, and
// cookies aimed at the dashboard's session, the last in Chromium signed in to the dashboard.

import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { findSignInLink, type SmtpInbox, startSmtpInbox } from "@private-connect/api/test-support/smtp-inbox";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { type Dashboard, launchBrowser, openContext, reserveDashboardUrl, startDashboard } from "../support/browser.ts";
import { waitFor } from "../support/net.ts";
import {
  type Agent,
  createWorkspace,
  errorLines,
  expectSuccess,
  type Hub,
  parseJsonOutput,
  residentBytes,
  startAgent,
  startHub,
} from "../support/processes.ts";

const MiB = 1024 * 1024;
const BIG_BODY = 200 * MiB;
/** How much the hub's resident memory may grow while 200 MB cross it. */
const HUB_RSS_BOUND = 150 * MiB;
const OWNER = "ops@links.test";
/** The hub runs as a production hub would, with /metrics behind a token. */
const METRICS_TOKEN = randomBytes(24).toString("hex");

/**
 * Set-Cookie headers a linked service may send to take over the dashboard's session cookie:
 * each is read as `pc_session` by the browser (empty name, whitespace) or by some server (case,
 * quotes, prefixes, percent-encoding), or lands on the hub's host beyond the link (Domain).
 */
const COOKIE_ATTACKS = [
  "pc_session=x; Path=/",
  "PC_SESSION=x; Path=/",
  '"pc_session"=x; Path=/',
  "=pc_session=x; Path=/",
  "pc_session; Path=/",
  " pc_session =x; Path=/",
  "__Host-pc_session=x; Path=/; Secure",
  "__Secure-pc_session=x; Path=/; Secure",
  "pc%5Fsession=x; Path=/",
  "pc_session=x; Path=/w",
  "pc_session=x; Path=/; Domain=127.0.0.1",
  "tossed=x; Path=/; Domain=127.0.0.1",
] as const;
/** Sent beside each attack: the response's cookies did reach the browser. */
const CONTROL_COOKIE = "link_ok=1; Path=/";

interface CreatedLink {
  id: string;
  url: string;
  slugHint: string;
  methods: string[];
  paths: string[];
  rateLimitPerMinute: number | null;
  expiresAt: string;
}

interface LinkListEntry {
  id: string;
  status: string;
  accessCount: number;
  lastAccessAt: string | null;
}

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  rawHeaders: string[];
  body: Buffer;
}

let hub: Hub;
let exposer: Agent;
let service: Server;
let servicePort: number;
/** Every request target the service saw, in order: an escape that worked would show up here. */
const seenTargets: string[] = [];
/** The long streaming responses the service is writing, and whether their connection closed. */
const streamingClosed: boolean[] = [];
let hangups = 0;
let inbox: SmtpInbox;
let dashboardAddress: { url: string; port: number };

/** The exposed service: what a developer might put behind a link. */
function handleService(req: IncomingMessage, res: ServerResponse): void {
  seenTargets.push(req.url ?? "");
  const url = new URL(req.url ?? "/", "http://service.local");
  if (url.pathname === "/api/v1/echo") {
    const body = JSON.stringify({ method: req.method, url: req.url, rawHeaders: req.rawHeaders });
    res.appendHeader("set-cookie", "first=1; Path=/; HttpOnly");
    res.appendHeader("set-cookie", "second=2; Path=/api");
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (url.pathname === "/api/v1/upload") {
    const hash = createHash("sha256");
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on("end", () => res.end(JSON.stringify({ length, sha256: hash.digest("hex") })));
    return;
  }
  if (url.pathname === "/api/v1/download") {
    const total = Number(url.searchParams.get("bytes"));
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": total });
    Readable.from(repeatedBlocks(total)).pipe(res);
    return;
  }
  if (url.pathname === "/api/v1/stream") {
    const index = streamingClosed.push(false) - 1;
    res.writeHead(200, { "content-type": "text/plain" });
    const timer = setInterval(() => res.write(`tick ${Date.now()}\n`), 50);
    res.on("close", () => {
      clearInterval(timer);
      streamingClosed[index] = true;
    });
    return;
  }
  if (url.pathname === "/api/v1/cookies") {
    const attack = COOKIE_ATTACKS[Number(url.searchParams.get("attack"))] ?? "";
    res.setHeader("set-cookie", [attack, CONTROL_COOKIE]);
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("cookies set\n");
    return;
  }
  if (url.pathname === "/api/v1/clear-site-data") {
    res.writeHead(200, { "content-type": "text/plain", "clear-site-data": '"cookies"' });
    res.end("cleared\n");
    return;
  }
  if (url.pathname === "/cookie-header") {
    // Asked directly, not through the hub: what the browser sends to 127.0.0.1, the dashboard's host.
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(req.headers.cookie ?? "");
    return;
  }
  if (url.pathname === "/api/v1/redirect") {
    const header = url.searchParams.get("header") ?? "location";
    const to = url.searchParams.get("to") ?? "/";
    res.writeHead(header === "refresh" ? 200 : 302, { [header]: header === "refresh" ? `0; url=${to}` : to });
    res.end();
    return;
  }
  if (url.pathname === "/api/v1/hangup") {
    hangups++;
    req.socket.destroy();
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`served ${url.pathname}\n`);
}

/** A fixed random 1 MiB block, repeated: cheap to produce, still checked by hash end to end. */
const BLOCK = randomBytes(MiB);
function* repeatedBlocks(total: number): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += BLOCK.length) yield BLOCK.subarray(0, Math.min(BLOCK.length, total - sent));
}
function sha256OfRepeated(total: number): string {
  const hash = createHash("sha256");
  for (const block of repeatedBlocks(total)) hash.update(block);
  return hash.digest("hex");
}

/**
 * One request to the hub with the target sent exactly as given (fetch would normalize `..` and
 * backslashes away). `host` sets the Host header: `<slug>.localhost` for the host form.
 */
function send(
  options: { method?: string; target: string; host?: string; headers?: string[]; body?: Buffer | Readable },
  timeoutMs = 20_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // With a raw header list node:http adds no Host of its own: always send one, as browsers do.
    const headers = ["Host", options.host ?? `127.0.0.1:${hub.port}`, ...(options.headers ?? [])];
    // Framed explicitly: node:http does not add Content-Length to a DELETE or OPTIONS body.
    if (Buffer.isBuffer(options.body)) headers.push("Content-Length", String(options.body.length));
    const req = request({
      host: "127.0.0.1",
      port: hub.port,
      method: options.method ?? "GET",
      path: options.target,
      headers,
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer to ${options.target} within ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

/** Starts a GET whose response never ends by itself; `ended` says how and when it stopped. */
function openStreamingResponse(
  target: string,
): Promise<{ chunks: string[]; ended: Promise<{ outcome: "complete" | "cut"; at: number }> }> {
  return new Promise((resolve, reject) => {
    const received: string[] = [];
    const req = request({ host: "127.0.0.1", port: hub.port, path: target, agent: false });
    req.on("error", reject);
    req.on("response", (res) => {
      const ended = new Promise<{ outcome: "complete" | "cut"; at: number }>((done) => {
        res.on("end", () => done({ outcome: "complete", at: Date.now() }));
        res.on("aborted", () => done({ outcome: "cut", at: Date.now() }));
        res.on("error", () => done({ outcome: "cut", at: Date.now() }));
        res.on("close", () => done({ outcome: res.complete ? "complete" : "cut", at: Date.now() }));
      });
      res.setEncoding("utf8").on("data", (chunk: string) => received.push(chunk));
      resolve({ chunks: received, ended });
    });
    req.end();
  });
}

function headerValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    if (rawHeaders[index]?.toLowerCase() === name) values.push(rawHeaders[index + 1] ?? "");
  }
  return values;
}

async function createLink(args: string[]): Promise<CreatedLink & { slug: string; base: string }> {
  const created = parseJsonOutput<CreatedLink>(expectSuccess(await exposer.run(["link", "web", ...args, "--json"])));
  const match = /\/l\/([a-z2-7]{26})\/$/.exec(created.url);
  if (!match?.[1]) throw new Error(`unexpected link URL ${created.url}`);
  expect(created.url).toBe(`${hub.url}/l/${match[1]}/`);
  return { ...created, slug: match[1], base: `/l/${match[1]}` };
}

async function listLinks(): Promise<LinkListEntry[]> {
  return parseJsonOutput<LinkListEntry[]>(expectSuccess(await exposer.run(["link", "list", "--json"])));
}

let readOnly: Awaited<ReturnType<typeof createLink>>;
let shortLived: Awaited<ReturnType<typeof createLink>>;
/** A response through the short-lived link, open from the start: its expiry must cut it. */
let outlivedStream: Awaited<ReturnType<typeof openStreamingResponse>>;

beforeAll(async () => {
  service = createServer(handleService);
  const sockets = new WebSocketServer({ server: service, path: "/api/v1/ws" });
  sockets.on("connection", (socket, req) => {
    socket.send(JSON.stringify({ hello: req.url, forwardedFor: req.headers["x-forwarded-for"] }));
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  service.listen(0, "127.0.0.1");
  await once(service, "listening");
  servicePort = (service.address() as AddressInfo).port;

  inbox = await startSmtpInbox();
  dashboardAddress = await reserveDashboardUrl();
  hub = await startHub({ env: { SMTP_URL: inbox.url, DASHBOARD_URL: dashboardAddress.url, METRICS_TOKEN } });
  const { apiKey } = await createWorkspace(hub, "links", OWNER);
  exposer = await startAgent({ hub, apiKey, label: "web-server" });
  expectSuccess(await exposer.run(["expose", `127.0.0.1:${servicePort}`, "--name", "web"]));
  // Created first, checked last: a real minute of the hub's own clock, spent on the other tests.
  shortLived = await createLink(["--expires", "1m"]);
  outlivedStream = await openStreamingResponse(`${shortLived.base}/api/v1/stream`);
  readOnly = await createLink(["--expires", "30d", "--methods", "get,HEAD", "--paths", "/api/v1,/health"]);
});

afterAll(async () => {
  service?.closeAllConnections();
  await new Promise((resolve) => service?.close(resolve));
  await inbox?.close();
});

/**
 * The session the dashboard reads from a Cookie header, parsed as the dashboard's own server
 * parses it (Next.js: split on `;`, a pair without `=` is a name, and the last of a name wins).
 */
function dashboardSessionIn(cookieHeader: string): string | undefined {
  let session: string | undefined;
  for (const pair of cookieHeader.split(/; */)) {
    if (pair === "") continue;
    const separator = pair.indexOf("=");
    if (separator === -1) {
      if (pair === "pc_session") session = "true";
      continue;
    }
    if (pair.slice(0, separator) === "pc_session") session = decodeURIComponent(pair.slice(separator + 1));
  }
  return session;
}

describe("a linked service's cookies, in Chromium signed in to the dashboard", () => {
  // The embedded layout: the dashboard on 127.0.0.1:<port>, the hub (and its /l/ links) on
  // 127.0.0.1:<another port>. Cookies ignore ports, so a path-form link's cookies are the
  // dashboard's cookies unless the hub filters them.
  let web: Dashboard;
  let browser: Browser;
  let owner: { context: BrowserContext; page: Page; problems: string[] };
  let workspaceSlug: string;
  let session: string;

  /** What the browser sends to 127.0.0.1 (the dashboard's host) at path `/`. */
  async function cookieHeaderSent(page: Page): Promise<string> {
    await page.goto(`http://127.0.0.1:${servicePort}/cookie-header`);
    return (await page.textContent("body")) ?? "";
  }

  beforeAll(async () => {
    web = await startDashboard({ port: dashboardAddress.port, hubUrl: hub.url, env: { PUBLIC_HUB_URL: hub.url } });
    browser = await launchBrowser();
    const opened = await openContext(browser, web.url);
    owner = { ...opened, page: await opened.context.newPage() };
    const { page } = owner;
    const before = inbox.messages.length;
    await page.goto("/sign-in");
    await page.getByLabel("Email address").fill(OWNER);
    await page.getByRole("button", { name: "Email me a sign-in link" }).click();
    const mail = await waitFor(() => inbox.messages.slice(before).find((message) => message.to.includes(OWNER)), {
      what: `the sign-in mail to ${OWNER}`,
    });
    await page.goto(findSignInLink(mail));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/w\/[a-z0-9-]+$/);
    workspaceSlug = new URL(page.url()).pathname.split("/")[2] ?? "";
    const cookie = (await owner.context.cookies(web.url)).find((candidate) => candidate.name === "pc_session");
    session = cookie?.value ?? "";
    expect(session).not.toBe("");
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it("proves the attacks are real: set straight from 127.0.0.1, some of them take the dashboard's session", async () => {
    // The service answered directly, not through the hub: what an unfiltered link would do.
    const control = await browser.newContext();
    const page = await control.newPage();
    const taken: string[] = [];
    for (const [index, attack] of COOKIE_ATTACKS.entries()) {
      await control.clearCookies();
      await control.addCookies([{ name: "pc_session", value: session, url: web.url, httpOnly: true, sameSite: "Lax" }]);
      await page.goto(`http://127.0.0.1:${servicePort}/api/v1/cookies?attack=${index}`);
      if (dashboardSessionIn(await cookieHeaderSent(page)) !== session) taken.push(attack);
    }
    // One response clearing the site's cookies signs the visitor out of the dashboard.
    await control.addCookies([{ name: "pc_session", value: session, url: web.url, httpOnly: true, sameSite: "Lax" }]);
    await page.goto(`http://127.0.0.1:${servicePort}/api/v1/clear-site-data`);
    const afterClearing = dashboardSessionIn(await cookieHeaderSent(page));
    await control.close();
    console.log(`Set-Cookie headers that replace the dashboard's session when nothing filters them: ${JSON.stringify(taken)}`);
    expect(afterClearing).toBeUndefined();
    // `pc_session; Path=/` has no `=` in its pair, so RFC 6265bis gives it an empty name and the
    // browser sends it back bare (`Cookie: ...; pc_session`), which the dashboard reads as its
    // session. The hub's filter once read the name up to the first `=` ("pc_session; Path") and
    // let it through. (Chromium refuses `=pc_session=x`; other browsers need not.)
    expect(taken).toEqual(expect.arrayContaining(["pc_session=x; Path=/", "pc_session; Path=/"]));
  });

  it("leaves the dashboard session unchanged whatever a path-form link sets, and still signed in", async () => {
    const { page, context } = owner;
    for (const [index, attack] of COOKIE_ATTACKS.entries()) {
      const response = await page.goto(`${hub.url}${readOnly.base}/api/v1/cookies?attack=${index}`);
      expect(response?.status(), attack).toBe(200);
      const sent = await cookieHeaderSent(page);
      expect(dashboardSessionIn(sent), `${attack}: the Cookie header sent to 127.0.0.1 is ${sent}`).toBe(session);
      const jar = await context.cookies();
      const lookalikes = jar.filter((cookie) => cookie.name === "" || /pc.{0,3}session|tossed/i.test(cookie.name));
      expect(
        lookalikes.map((cookie) => `${cookie.name}=${cookie.value}; Path=${cookie.path}`),
        attack,
      ).toEqual([`pc_session=${session}; Path=/`]);
    }
    const cleared = await page.goto(`${hub.url}${readOnly.base}/api/v1/clear-site-data`);
    expect(cleared?.status()).toBe(200);
    expect(dashboardSessionIn(await cookieHeaderSent(page)), "after Clear-Site-Data through the link").toBe(session);
    // The response's own cookie arrived (so the attacks did too), scoped to the link.
    const control = (await context.cookies(`${hub.url}${readOnly.base}/`)).find((cookie) => cookie.name === "link_ok");
    expect(control).toMatchObject({ value: "1", path: readOnly.base });
    expect((await context.cookies(`${web.url}/w/${workspaceSlug}`)).some((cookie) => cookie.name === "link_ok")).toBe(false);
    // And the dashboard still knows who this is.
    await page.goto(`${web.url}/w/${workspaceSlug}`);
    expect(new URL(page.url()).pathname).toBe(`/w/${workspaceSlug}`);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("links");
    expect(owner.problems).toEqual([]);
  });
});

describe("a public link in front of an HTTP service", () => {
  it("prints the URL with its restrictions, and creates nothing for a service that is not exposed", async () => {
    expect(readOnly).toMatchObject({ methods: ["GET", "HEAD"], paths: ["/api/v1", "/health"], rateLimitPerMinute: null });
    expect((await send({ target: `${shortLived.base}/api/v1/echo` })).status).toBe(200);
    const text = expectSuccess(await exposer.run(["link", "web", "--paths", "/api/v1", "--expires", "2h"])).stdout;
    expect(text).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/l\/[a-z2-7]{26}\/$/m);
    expect(text).toContain("/api/v1 (and below)");
    const missing = await exposer.run(["link", "nowhere"]);
    expect(missing.code).not.toBe(0);
    expect(errorLines(missing).join("\n")).toContain("Error: Service not found");
    const badPath = await exposer.run(["link", "web", "--paths", "/api/../admin"]);
    expect(errorLines(badPath).join("\n")).toContain("Path prefixes cannot contain dot segments");
  });

  it("passes an allowed GET with its query string, repeated headers and both Set-Cookie headers", async () => {
    const reply = await send({
      target: `${readOnly.base}/api/v1/echo?a=1&b=two%20words&a=3`,
      headers: [
        "X-Repeated",
        "one",
        "X-Repeated",
        "two",
        "Cookie",
        "pc_session=hub-secret; app=kept",
        "X-Forwarded-For",
        "6.6.6.6",
      ],
    });
    expect(reply.status).toBe(200);
    // Both kept, scoped under the link: the hub's own pages (and the dashboard's) never get them.
    expect(headerValues(reply.rawHeaders, "set-cookie")).toEqual([
      `first=1; Path=${readOnly.base}; HttpOnly`,
      `second=2; Path=${readOnly.base}/api`,
    ]);
    const seen = JSON.parse(reply.body.toString()) as { method: string; url: string; rawHeaders: string[] };
    expect(seen.method).toBe("GET");
    expect(seen.url).toBe("/api/v1/echo?a=1&b=two%20words&a=3");
    expect(headerValues(seen.rawHeaders, "x-repeated")).toEqual(["one", "two"]);
    expect(headerValues(seen.rawHeaders, "cookie")).toEqual(["app=kept"]);
    expect(headerValues(seen.rawHeaders, "x-forwarded-for")).toEqual(["127.0.0.1"]);
    expect(headerValues(seen.rawHeaders, "x-forwarded-proto")).toEqual(["http"]);
    expect(headerValues(seen.rawHeaders, "x-forwarded-host")).toEqual([`127.0.0.1:${hub.port}`]);
    expect(reply.rawHeaders.join("\n")).not.toContain("hub-secret");
  });

  it("serves the same link on its own origin, <slug>.localhost", async () => {
    const host = `${readOnly.slug}.localhost:${hub.port}`;
    const reply = await send({ target: "/api/v1/echo?via=host", host });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toMatchObject({ url: "/api/v1/echo?via=host" });
    expect(headerValues(reply.rawHeaders, "set-cookie")).toHaveLength(2);
    // A link host serves the link only: the hub's own routes are not there.
    expect((await send({ target: "/trpc/auth.me", host })).status).toBe(403);
    expect((await send({ target: "/", host: `${"a".repeat(26)}.localhost:${hub.port}` })).status).toBe(404);
  });

  it("answers other methods with 405 and Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const reply = await send({ method, target: `${readOnly.base}/api/v1/echo`, body: Buffer.from("x") });
      expect(reply.status, method).toBe(405);
      expect(reply.headers.allow).toBe("GET, HEAD");
    }
    expect((await send({ method: "HEAD", target: `${readOnly.base}/api/v1/echo` })).status).toBe(200);
  });

  it("answers paths outside the prefixes with 403, whatever the spelling", async () => {
    const before = seenTargets.length;
    const escapes = [
      "/api/v2",
      "/api/v10",
      "/api/v1.0/x",
      "/admin",
      "/",
      "/api/v1/../admin",
      "/api/v1/%2e%2e/admin",
      "/api/v1/%2E%2E/admin",
      "/api/v1/.%2e/admin",
      "/api/v1%2f..%2fadmin",
      "/api/v1%2F..%2Fadmin",
      "/api/v1%5c..%5cadmin",
      "//api/v1/../admin",
      "/api/v1\\..\\admin",
      "/api/v1/..\\admin",
      "/api/v1/./../../admin",
      "/api/v1/..;/admin",
      "/api/v1/%252e%252e/admin",
      "/health/../admin",
      "/healthz",
      // Overlong UTF-8 for `.` and `/`, which lenient decoders turn back into `..` and `/`.
      "/api/v1/%c0%ae%c0%ae/admin",
      "/api/v1/%e0%80%ae%e0%80%ae/admin",
      "/api/v1/..%c0%afadmin",
      // Dot segments padded with what trimming servers drop.
      "/api/v1/%20../admin",
      "/api/v1/..%20/admin",
      "/api/v1/..%09/admin",
      "/api/v1/..%0d%0a/admin",
      "/api/v1/..%c2%a0/admin",
    ];
    for (const attempt of escapes) {
      const reply = await send({ target: `${readOnly.base}${attempt}` });
      expect(reply.status, attempt).toBe(403);
      const viaHost = await send({ target: attempt, host: `${readOnly.slug}.localhost:${hub.port}` });
      expect(viaHost.status, `${attempt} on the host form`).toBe(403);
    }
    for (const malformed of ["/api/v1/%00", "/api/v1/%zz", "/api/v1/%"]) {
      expect((await send({ target: `${readOnly.base}${malformed}` })).status, malformed).toBe(400);
    }
    // None of them reached the service.
    expect(seenTargets.slice(before)).toEqual([]);
    // What stays inside the prefix is served, normalized: the service sees the path that was checked.
    const inside = await send({ target: `${readOnly.base}//api//v1/x/../echo?z=1` });
    expect(inside.status).toBe(200);
    expect(JSON.parse(inside.body.toString())).toMatchObject({ url: "/api/v1/echo?z=1" });
    expect((await send({ target: `${readOnly.base}/health` })).status).toBe(200);
  });

  it("holds method overrides to --methods: a GET link runs no DELETE through X-HTTP-Method-Override", async () => {
    const before = seenTargets.length;
    const overrides: { method?: string; headers?: string[]; target: string }[] = [
      { headers: ["X-HTTP-Method-Override", "DELETE"], target: "/api/v1/echo" },
      { headers: ["X-Method-Override", "put"], target: "/api/v1/echo" },
      { headers: ["X-HTTP-Method", "PATCH"], target: "/api/v1/echo" },
      { headers: ["X_HTTP_METHOD_OVERRIDE", "DELETE"], target: "/api/v1/echo" },
      { headers: ["X-HTTP-Method-Override", "GET, DELETE"], target: "/api/v1/echo" },
      { target: "/api/v1/echo?_method=DELETE" },
      { method: "HEAD", headers: ["X-HTTP-Method-Override", "DELETE"], target: "/api/v1/echo" },
    ];
    for (const attempt of overrides) {
      const reply = await send({ method: attempt.method, target: `${readOnly.base}${attempt.target}`, headers: attempt.headers });
      expect(reply.status, JSON.stringify(attempt)).toBe(405);
      expect(reply.headers.allow).toBe("GET, HEAD");
    }
    expect(seenTargets.slice(before)).toEqual([]);
    // An override naming a method the link allows changes nothing the link forbids.
    const allowed = await send({ target: `${readOnly.base}/api/v1/echo`, headers: ["X-HTTP-Method-Override", "GET"] });
    expect(allowed.status).toBe(200);
    // A GET,POST link: a POST tunnelling DELETE is refused, one tunnelling GET passes.
    const posting = await createLink(["--expires", "1h", "--methods", "GET,POST", "--paths", "/api/v1"]);
    const tunnelled = await send({
      method: "POST",
      target: `${posting.base}/api/v1/echo`,
      headers: ["X-HTTP-Method-Override", "DELETE"],
      body: Buffer.from("x"),
    });
    expect(tunnelled.status).toBe(405);
    expect(tunnelled.body.toString()).toContain("X-HTTP-Method-Override header asks for DELETE");
  });

  it("keeps a path-form link's redirects in the link, and refuses one to another site", async () => {
    const redirect = (to: string, options: { header?: string; host?: string } = {}) =>
      send({
        target: `${options.host ? "" : readOnly.base}/api/v1/redirect?header=${options.header ?? "location"}&to=${encodeURIComponent(to)}`,
        host: options.host,
      });
    for (const to of [
      "//evil.example/",
      "http://evil.example/",
      "https://evil.example/x",
      "/\\evil.example/",
      "\\\\evil.example/",
      "/\t/evil.example/",
      `http://127.0.0.1:${hub.port}@evil.example/`,
    ]) {
      const reply = await redirect(to);
      expect(reply.status, to).toBe(502);
      expect(reply.headers.location, to).toBeUndefined();
      expect(reply.body.toString()).toContain("redirected to another site");
    }
    expect((await redirect("//evil.example/", { header: "refresh" })).status).toBe(502);
    // Within the service, mapped under /l/<slug>, whether relative, climbing or absolute on the hub's host.
    for (const [to, mapped] of [
      ["/inside?x=1", `${readOnly.base}/inside?x=1`],
      ["../../../trpc/auth.me", `${readOnly.base}/trpc/auth.me`],
      [`http://127.0.0.1:${hub.port}/done`, `${readOnly.base}/done`],
    ] as const) {
      const reply = await redirect(to);
      expect(reply.status, to).toBe(302);
      expect(reply.headers.location, to).toBe(mapped);
    }
    expect((await redirect("/next", { header: "refresh" })).headers.refresh).toBe(`0; url=${readOnly.base}/next`);
    // The host form is an origin of its own: its redirects are its business.
    const own = await redirect("http://evil.example/", { host: `${readOnly.slug}.localhost:${hub.port}` });
    expect(own.status).toBe(302);
    expect(own.headers.location).toBe("http://evil.example/");
  });

  it("drops a host-form link's cookies for a parent domain, and every session-like cookie", async () => {
    const host = `${readOnly.slug}.localhost:${hub.port}`;
    const cookiesOf = async (attack: number, form: "host" | "path") => {
      const reply = await send(
        form === "host"
          ? { target: `/api/v1/cookies?attack=${attack}`, host }
          : { target: `${readOnly.base}/api/v1/cookies?attack=${attack}` },
      );
      expect(reply.status).toBe(200);
      return headerValues(reply.rawHeaders, "set-cookie");
    };
    for (const [index, attack] of COOKIE_ATTACKS.entries()) {
      expect(await cookiesOf(index, "host"), attack).toEqual([CONTROL_COOKIE]);
      expect(await cookiesOf(index, "path"), attack).toEqual([`link_ok=1; Path=${readOnly.base}`]);
    }
  });

  it("keeps /metrics behind METRICS_TOKEN", async () => {
    const anonymous = await fetch(`${hub.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toMatch(/^pc_/m);
    expect((await fetch(`${hub.url}/metrics`, { headers: { authorization: "Bearer wrong-token-of-some-length" } })).status).toBe(
      401,
    );
    const scraped = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^# (HELP|TYPE) /m);
  });

  it("limits each client address per minute: the 101st request gets 429 with Retry-After", async () => {
    const limited = await createLink(["--expires", "1h", "--rate-limit", "100"]);
    for (let index = 1; index <= 100; index++) {
      const reply = await send({ target: `${limited.base}/api/v1/echo?n=${index}` });
      expect(reply.status, `request ${index}`).toBe(200);
    }
    const refused = await send({ target: `${limited.base}/api/v1/echo?n=101` });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another link's budget is its own.
    expect((await send({ target: `${readOnly.base}/api/v1/echo` })).status).toBe(200);
    // Accesses are counted (asynchronously, after each response).
    await waitFor(async () => (await listLinks()).find((link) => link.id === limited.id)?.accessCount === 100, {
      timeoutMs: 20_000,
      intervalMs: 500,
      what: "100 accesses counted on the rate-limited link",
    });
  });

  it("never retries: a service that hangs up gets one attempt and the visitor a 502", async () => {
    const open = await createLink(["--expires", "1h"]);
    const reply = await send({ method: "POST", target: `${open.base}/api/v1/hangup`, body: Buffer.from("once") });
    expect(reply.status).toBe(502);
    expect(reply.body.toString()).toContain("did not answer");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hangups).toBe(1);
  });

  it("streams a 200 MB upload and a 200 MB download with the hub's memory bounded", async () => {
    const open = await createLink(["--expires", "1h", "--methods", "GET,POST", "--paths", "/api/v1"]);
    const pid = hub.process.pid;
    if (pid === undefined) throw new Error("hub has no pid");
    const baseline = (await residentBytes(pid)) ?? 0;
    let peak = baseline;
    const sampler = setInterval(async () => {
      peak = Math.max(peak, (await residentBytes(pid)) ?? 0);
    }, 100);
    try {
      const started = Date.now();
      const upload = await send(
        {
          method: "POST",
          target: `${open.base}/api/v1/upload`,
          headers: ["Content-Length", String(BIG_BODY), "Content-Type", "application/octet-stream"],
          body: Readable.from(repeatedBlocks(BIG_BODY)),
        },
        60_000,
      );
      const uploadMs = Date.now() - started;
      expect(upload.status).toBe(200);
      expect(JSON.parse(upload.body.toString())).toEqual({ length: BIG_BODY, sha256: sha256OfRepeated(BIG_BODY) });

      const downloadStarted = Date.now();
      const download = await new Promise<{ status: number; length: number; sha256: string }>((resolve, reject) => {
        const req = request({
          host: "127.0.0.1",
          port: hub.port,
          path: `${open.base}/api/v1/download?bytes=${BIG_BODY}`,
          agent: false,
        });
        req.on("error", reject);
        req.on("response", (res) => {
          const hash = createHash("sha256");
          let length = 0;
          res.on("data", (chunk: Buffer) => {
            hash.update(chunk);
            length += chunk.length;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, length, sha256: hash.digest("hex") }));
          res.on("error", reject);
        });
        req.end();
      });
      const downloadMs = Date.now() - downloadStarted;
      expect(download).toEqual({ status: 200, length: BIG_BODY, sha256: sha256OfRepeated(BIG_BODY) });
      console.log(
        `200 MB through a link: upload ${uploadMs} ms, download ${downloadMs} ms; hub RSS ${(baseline / MiB).toFixed(0)} MiB -> peak ${(peak / MiB).toFixed(0)} MiB`,
      );
    } finally {
      clearInterval(sampler);
    }
    expect(peak - baseline).toBeLessThan(HUB_RSS_BOUND);
  });

  it("carries a WebSocket through the link, in both URL forms", async () => {
    const open = await createLink(["--expires", "1h", "--methods", "GET", "--paths", "/api/v1/ws"]);
    const urls = [
      `ws://127.0.0.1:${hub.port}${open.base}/api/v1/ws?room=a`,
      // Host form: same socket address, the link's own Host.
      `ws://127.0.0.1:${hub.port}/api/v1/ws?room=b`,
    ];
    for (const [index, url] of urls.entries()) {
      const socket = new WebSocket(url, index === 1 ? { headers: { host: `${open.slug}.localhost:${hub.port}` } } : {});
      const messages: (string | Buffer)[] = [];
      const nextMessage = () =>
        new Promise<string | Buffer>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no WebSocket message on ${url}`)), 10_000);
          socket.once("message", (data, isBinary) => {
            clearTimeout(timer);
            const message = isBinary ? (data as Buffer) : data.toString();
            messages.push(message);
            resolve(message);
          });
        });
      const greeting = nextMessage();
      await once(socket, "open");
      expect(JSON.parse((await greeting) as string)).toEqual({
        hello: `/api/v1/ws?room=${index === 0 ? "a" : "b"}`,
        forwardedFor: "127.0.0.1",
      });
      const text = nextMessage();
      socket.send("hello through the link");
      expect(await text).toBe("hello through the link");
      const payload = randomBytes(MiB);
      const binary = nextMessage();
      socket.send(payload);
      expect(Buffer.compare((await binary) as Buffer, payload)).toBe(0);
      socket.close();
      await once(socket, "close");
    }
    // The upgrade obeys the link's restrictions like any request.
    const refused = new WebSocket(`ws://127.0.0.1:${hub.port}${open.base}/api/v2/ws`);
    refused.on("error", () => {});
    const [, response] = (await once(refused, "unexpected-response")) as [unknown, IncomingMessage];
    expect(response.statusCode).toBe(403);
    refused.terminate();
  });

  it("cuts a streaming response in flight when the link is revoked, and refuses it afterwards", async () => {
    const doomed = await createLink(["--expires", "1h"]);
    const streamIndex = streamingClosed.length;
    const { chunks, ended } = await openStreamingResponse(`${doomed.base}/api/v1/stream`);
    await waitFor(() => chunks.length >= 3, { what: "the streaming response to flow", timeoutMs: 10_000 });

    const revokedAt = Date.now();
    const revoked = parseJsonOutput<{ id: string }>(expectSuccess(await exposer.run(["link", "revoke", doomed.url, "--json"])));
    expect(revoked.id).toBe(doomed.id);
    const outcome = await Promise.race([ended, new Promise((resolve) => setTimeout(() => resolve("still streaming"), 10_000))]);
    expect(outcome).toMatchObject({ outcome: "cut" });
    console.log(`revocation cut the response ${Date.now() - revokedAt} ms after connect link revoke started`);
    // The cut reached the service too: its response's connection closed.
    await waitFor(() => streamingClosed[streamIndex] === true, { what: "the service's side of the cut stream to close" });
    const after = await send({ target: `${doomed.base}/api/v1/echo` });
    expect(after.status).toBe(404);
    expect((await listLinks()).find((link) => link.id === doomed.id)?.status).toBe("revoked");
    // The form before `link list` keeps working, with a one-line hint on stderr naming the new one.
    const listedOld = expectSuccess(await exposer.run(["link", "--list", "--json"]));
    expect(listedOld.stderr.trim()).toBe("Warning: connect link --list is deprecated: use connect link list");
    expect(parseJsonOutput<LinkListEntry[]>(listedOld).find((link) => link.id === doomed.id)?.status).toBe("revoked");
  });

  it("answers 502 with a clear text when the service's agent is offline", async () => {
    const { apiKey } = await createWorkspace(hub, "offline", "ops@offline.test");
    const other = await startAgent({ hub, apiKey, label: "short-lived-agent" });
    expectSuccess(await other.run(["expose", `127.0.0.1:${servicePort}`, "--name", "web"]));
    const created = parseJsonOutput<CreatedLink>(expectSuccess(await other.run(["link", "web", "--expires", "1h", "--json"])));
    const base = new URL(created.url).pathname.replace(/\/$/, "");
    expect((await send({ target: `${base}/api/v1/echo` })).status).toBe(200);
    expectSuccess(await other.down());
    const offline = await waitFor(
      async () => {
        const reply = await send({ target: `${base}/api/v1/echo` });
        return reply.status === 502 ? reply : undefined;
      },
      { what: "502 once the agent is gone" },
    );
    expect(offline.body.toString()).toContain("offline: its agent is not connected to the hub");
  });

  it("cuts what is in flight when the link expires, and answers 410 afterwards", async () => {
    // It worked while it lived (checked in the first test); now wait out what is left of its minute.
    const expiresAt = Date.parse(shortLived.expiresAt);
    const waitMs = expiresAt - Date.now() + 500;
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    // The response opened before the other tests ran was cut at the expiry, not before.
    const stopped = await Promise.race([
      outlivedStream.ended,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5_000)),
    ]);
    expect(stopped?.outcome).toBe("cut");
    expect(stopped?.at).toBeGreaterThanOrEqual(expiresAt - 50);
    expect(outlivedStream.chunks.length).toBeGreaterThan(10);
    const expired = await send({ target: `${shortLived.base}/api/v1/echo` });
    expect(expired.status).toBe(410);
    expect(expired.body.toString()).toContain("expired");
    const viaHost = await send({ target: "/api/v1/echo", host: `${shortLived.slug}.localhost:${hub.port}` });
    expect(viaHost.status).toBe(410);
    expect((await listLinks()).find((link) => link.id === shortLived.id)?.status).toBe("expired");
  }, 75_000);
});
