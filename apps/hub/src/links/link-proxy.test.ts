// The link proxy in front of a real database (PGlite) and a relay that answers as a test says:
// what a visitor sees when the stream to the service cannot be opened, or the shared rate limit
// cannot be read, and what becomes of a stream opened for a visitor who already left.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import {
  type ApiDeps,
  AppError,
  createCaller,
  createContextInner,
  createRateLimiter,
  createRevocations,
  createWorkspace,
  createWorkspaceEvents,
  extractLinkSlug,
  type RateLimiter,
  REDIS_UNAVAILABLE_MESSAGE,
} from "@private-connect/api";
import { type Database, openDatabase } from "@private-connect/db";
import { ResetCode } from "@private-connect/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { LocalStream } from "../relay/local-stream.js";
import { OpenRefusal } from "../relay/relay-authority.js";
import { createLinkProxy, type LinkProxy, type LocalStreamOpener } from "./link-proxy.js";
import { createLinkMatcher } from "./link-routing.js";

type OpenStream = LocalStreamOpener["openLocalStream"];

describe("createLinkProxy", () => {
  let db: Database;
  let deps: ApiDeps;
  let workspaceId: string;
  let agentId: string;
  /** Slugs of a link without limits and of one limited per address. */
  let openSlug: string;
  let limitedSlug: string;
  let server: Server | undefined;
  let proxy: LinkProxy | undefined;

  beforeAll(async () => {
    db = await openDatabase();
    deps = {
      db,
      config: { tokenExpiryDays: 30, publicUrl: "https://hub.test", secretHashKey: randomBytes(32) },
      presence: { findOnlineAgents: async () => new Set() },
      events: createWorkspaceEvents(),
      mailer: { sendMagicLink: async () => undefined },
      rateLimiter: createRateLimiter(),
      revocations: createRevocations(),
    };
    const caller = async (bearer: string) => createCaller(await createContextInner({ deps, bearer }));
    const created = await createWorkspace(deps, { name: "Links", ownerEmail: "owner@links.test" });
    workspaceId = created.workspace.id;
    const registered = await (await caller(created.apiKey)).agents.register({ label: "server" });
    agentId = registered.agentId;
    await (await caller(registered.token)).services.expose({ name: "api", targetHost: "127.0.0.1", targetPort: 8080 });
    const asOwner = await caller(created.apiKey);
    const slugOf = (url: string) => extractLinkSlug(url) ?? "";
    openSlug = slugOf((await asOwner.links.create({ service: "api" })).url);
    limitedSlug = slugOf((await asOwner.links.create({ service: "api", rateLimitPerMinute: 5 })).url);
  });

  afterEach(async () => {
    proxy?.close();
    server?.closeAllConnections();
    if (server !== undefined) await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  afterAll(async () => {
    await db?.close();
  });

  /** A hub's HTTP server with just the link proxy, on a loopback port. */
  async function serve(
    openLocalStream: OpenStream,
    rateLimiter?: RateLimiter,
  ): Promise<{ port: number; requests: IncomingMessage[] }> {
    const match = createLinkMatcher("localhost");
    const requests: IncomingMessage[] = [];
    const linkProxy = createLinkProxy({
      deps,
      relay: { openLocalStream },
      log: createLogger("silent"),
      readClientIp: (req) => req.socket.remoteAddress ?? "",
      isSecureRequest: () => false,
      rateLimiter,
    });
    proxy = linkProxy;
    const httpServer = createServer((req, res) => {
      requests.push(req);
      const target = match(req);
      if (target === undefined) res.writeHead(500).end("no link matched");
      else linkProxy.handleRequest(req, res, target);
    });
    httpServer.on("upgrade", (req, socket, head) => {
      const target = match(req);
      if (target === undefined) socket.destroy();
      else linkProxy.handleUpgrade(req, socket, head, target);
    });
    server = httpServer;
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    return { port: (httpServer.address() as AddressInfo).port, requests };
  }

  async function visit(port: number, slug: string): Promise<{ status: number; body: string }> {
    const reply = await fetch(`http://127.0.0.1:${port}/l/${slug}/`);
    return { status: reply.status, body: await reply.text() };
  }

  /** A WebSocket handshake on a raw socket; resolves with everything the hub wrote before closing. */
  async function visitUpgrade(port: number, slug: string): Promise<string> {
    const socket = connect(port, "127.0.0.1");
    socket.write(
      `GET /l/${slug}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    await once(socket, "close");
    return Buffer.concat(chunks).toString();
  }

  it("answers 502 naming the offline agent, and opens with the link's agent, service and workspace", async () => {
    const grants: Parameters<OpenStream>[0][] = [];
    const { port } = await serve(async (grant) => {
      grants.push(grant);
      throw new OpenRefusal(ResetCode.SERVICE_OFFLINE, "Service api is offline: its agent is not connected to the hub");
    });
    expect(await visit(port, openSlug)).toEqual({
      status: 502,
      body: "The service behind this link is offline: its agent is not connected to the hub.\n",
    });
    expect(grants).toEqual([{ agentId, serviceName: "api", workspaceId }]);
  });

  it("answers 503 with the relay's reason when the open cannot be routed now, on requests and upgrades", async () => {
    const { port } = await serve(async () => {
      throw new OpenRefusal(ResetCode.UNAVAILABLE, REDIS_UNAVAILABLE_MESSAGE);
    });
    expect(await visit(port, openSlug)).toEqual({ status: 503, body: `${REDIS_UNAVAILABLE_MESSAGE}\n` });
    const answer = await visitUpgrade(port, openSlug);
    expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(answer.endsWith(`\r\n\r\n${REDIS_UNAVAILABLE_MESSAGE}\n`)).toBe(true);
  });

  it("answers 503 without opening when the shared rate limit cannot be read", async () => {
    let opens = 0;
    const unreachable: RateLimiter = {
      take: async () => {
        throw new AppError("UNAVAILABLE", REDIS_UNAVAILABLE_MESSAGE);
      },
    };
    const { port } = await serve(async () => {
      opens++;
      throw new OpenRefusal(ResetCode.SERVICE_OFFLINE, "offline");
    }, unreachable);
    expect(await visit(port, limitedSlug)).toEqual({ status: 503, body: `${REDIS_UNAVAILABLE_MESSAGE}\n` });
    expect(opens).toBe(0);
    // A link without a limit does not ask the limiter at all.
    expect((await visit(port, openSlug)).status).toBe(502);
    expect(opens).toBe(1);
  });

  it("destroys a stream whose open completed after the visitor left", async () => {
    let finishOpen: (stream: LocalStream) => void = () => {};
    let signalOpening: () => void = () => {};
    const opening = new Promise<void>((resolve) => {
      signalOpening = resolve;
    });
    const { port, requests } = await serve(
      () =>
        new Promise<LocalStream>((resolve) => {
          finishOpen = resolve;
          signalOpening();
        }),
    );
    const visitor = request({ host: "127.0.0.1", port, path: `/l/${openSlug}/` });
    visitor.on("error", () => {});
    visitor.end();
    await opening;
    const served = requests[0];
    if (served === undefined) throw new Error("the hub saw no request");
    const visitorGone = once(served.socket, "close");
    visitor.destroy();
    await visitorGone;
    const stream = new LocalStream("link test");
    finishOpen(stream);
    await once(stream, "close");
    expect(stream.destroyed).toBe(true);
  });
});
