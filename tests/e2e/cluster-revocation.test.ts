// Revocation and rate limits across three hubs. A revocation made through one hub cuts a stream
// that two other hubs relay within a second (a share, an agent, a link); a share's
// `--rate-limit 3`, a link's per-address limit, the share join limit and the sign-in link limit
// hold for the cluster as a whole, whichever hub each attempt reaches.
import { type IncomingMessage, request, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentTokenOf,
  type Cluster,
  type ClusterAgent,
  type ClusterHub,
  closeClusters,
  reachPort,
  requireCluster,
  startClusterAgent,
  startClusterOrSkip,
  startWebService,
  type WebService,
} from "../support/cluster.ts";
import { connectTcp, LOOPBACK, roundTrip, startEchoServer, type TestServer, waitFor, waitForClose } from "../support/net.ts";
import { createWorkspace, expectSuccess, isAlive, parseJsonOutput, waitForPidExit } from "../support/processes.ts";

/** How long a revocation may take to cut a stream on another hub. */
const CUT_WITHIN_MS = 1_000;

let cluster: Cluster | null = null;
let hub1: ClusterHub;
let hub2: ClusterHub;
let hub3: ClusterHub;
let acmeKey: string;
/** acme's exposing agent, on hub-1. */
let server: ClusterAgent;
/** acme's agents on hub-3 and hub-2: they revoke, so the revocation is made on neither hub of the stream. */
let admin: ClusterAgent;
let admin2: ClusterAgent;
/** contractor's agents, on hub-2 and hub-3. */
let partner2: ClusterAgent;
let partner3: ClusterAgent;
let echo: TestServer;
let web: WebService | undefined;
/** Streaming responses the web service is writing, and whether each one's connection closed. */
const streamsClosed: boolean[] = [];

function handleWeb(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === "/stream") {
    const index = streamsClosed.push(false) - 1;
    res.writeHead(200, { "content-type": "text/plain" });
    const timer = setInterval(() => res.write(`tick ${Date.now()}\n`), 50);
    res.on("close", () => {
      clearInterval(timer);
      streamsClosed[index] = true;
    });
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`served ${req.url}\n`);
}

beforeAll(async () => {
  cluster = await startClusterOrSkip("cluster revocation tests", { hubs: 3 });
  if (!cluster) return;
  [hub1, hub2, hub3] = cluster.hubs as [ClusterHub, ClusterHub, ClusterHub];
  ({ apiKey: acmeKey } = await createWorkspace(hub1, "acme", "ops@acme.test"));
  const { apiKey: contractorKey } = await createWorkspace(hub1, "contractor", "dev@contractor.test");
  [server, admin, admin2, partner2, partner3] = await Promise.all([
    startClusterAgent(hub1, { apiKey: acmeKey, label: "server" }),
    startClusterAgent(hub3, { apiKey: acmeKey, label: "admin" }),
    startClusterAgent(hub2, { apiKey: acmeKey, label: "admin-2" }),
    startClusterAgent(hub2, { apiKey: contractorKey, label: "partner-2" }),
    startClusterAgent(hub3, { apiKey: contractorKey, label: "partner-3" }),
  ]);
  echo = await startEchoServer();
  web = await startWebService(handleWeb);
  expectSuccess(await server.run(["expose", echo.address, "--name", "echo"]));
  expectSuccess(await server.run(["expose", web.address, "--name", "web"]));
}, 180_000);

afterAll(async () => {
  await web?.close();
  await closeClusters();
});

/** An open stream through `port`, its echo checked once; `closedAt` resolves when it ends. */
async function openEchoStream(port: number): Promise<{ closedAt: Promise<number>; destroy(): void }> {
  const socket = await connectTcp(port);
  socket.on("error", () => {});
  socket.write("before");
  await waitFor(() => socket.bytesRead >= "before".length, { timeoutMs: 10_000, what: "the echo before the revocation" });
  const closedAt = waitForClose(socket, 10_000).then(() => Date.now());
  return { closedAt, destroy: () => socket.destroy() };
}

async function share(args: string[]): Promise<{ id: string; code: string }> {
  return parseJsonOutput<{ id: string; code: string }>(expectSuccess(await server.run(["share", ...args, "--json"])));
}

/** One HTTP request to a hub with the path as given; resolves with the status. */
function statusOf(hub: ClusterHub, path: string): Promise<number> {
  return fetch(`${hub.url}${path}`, { signal: AbortSignal.timeout(15_000) }).then(async (response) => {
    await response.arrayBuffer();
    return response.status;
  });
}

/** POST a JSON body to a hub from a chosen loopback address, with an agent's token; resolves with status and text. */
function postJson(
  hub: ClusterHub,
  path: string,
  body: unknown,
  options: { from: string; token?: string },
): Promise<{ status: number; text: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: LOOPBACK,
        port: hub.port,
        path,
        method: "POST",
        localAddress: options.from,
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        signal: AbortSignal.timeout(15_000),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => {
          text += chunk;
        });
        res.once("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.once("error", reject);
      },
    );
    req.once("error", reject);
    req.end(payload);
  });
}

describe("revocation on one hub cuts streams on the others", () => {
  it("a share revoked through hub 3 cuts a stream hub 2 and hub 1 relay within a second", async (ctx) => {
    requireCluster(cluster, ctx);
    const created = await share(["--name", "to-revoke", "--expires", "1h", "--services", "echo"]);
    expectSuccess(await partner2.run(["join", created.code]));
    const port = await reachPort(partner2, "echo", ["--from", "acme"]);
    const stream = await openEchoStream(port);
    try {
      const revoked = parseJsonOutput<{ revokedAt: string }>(
        expectSuccess(await admin.run(["share", "--revoke", created.code, "--json"])),
      );
      const cutMs = (await stream.closedAt) - Date.parse(revoked.revokedAt);
      console.info(`share revoked on hub-3: stream between hub-2 and hub-1 cut ${cutMs} ms after the revocation`);
      expect(cutMs).toBeLessThan(CUT_WITHIN_MS);
      // Nothing opens through it again, on any hub.
      const fresh = await connectTcp(port);
      expect((await waitForClose(fresh, 5_000)).bytes).toBe(0);
    } finally {
      stream.destroy();
      await partner2.run(["reach", "--stop", "echo", "--from", "acme"]);
    }
  });

  it("an agent revoked through hub 3 is cut on hub 1 within a second, with the stream hub 2 relays", async (ctx) => {
    requireCluster(cluster, ctx);
    const victim = await startClusterAgent(hub1, { apiKey: acmeKey, label: "victim" });
    const laptop = await startClusterAgent(hub2, { apiKey: acmeKey, label: "laptop" });
    expectSuccess(await victim.run(["expose", echo.address, "--name", "victim-echo"]));
    const port = await reachPort(laptop, "victim-echo");
    const stream = await openEchoStream(port);
    try {
      const revoked = parseJsonOutput<{ revokedAt: string }>(
        expectSuccess(await admin.run(["agents", "revoke", "victim", "--json"])),
      );
      const cutMs = (await stream.closedAt) - Date.parse(revoked.revokedAt);
      console.info(`agent revoked on hub-3: its stream through hub-1 and hub-2 cut ${cutMs} ms after the revocation`);
      expect(cutMs).toBeLessThan(CUT_WITHIN_MS);
      // Its own hub closed its connection: the revoked agent stops and does not retry.
      const pid = victim.pid();
      if (pid) {
        await waitForPidExit(pid, 10_000);
        expect(isAlive(pid)).toBe(false);
      }
    } finally {
      stream.destroy();
      await laptop.down();
    }
  });

  it("a link revoked through hub 2 cuts a response hub 3 serves from hub 1 within a second", async (ctx) => {
    requireCluster(cluster, ctx);
    const created = parseJsonOutput<{ id: string; url: string }>(
      expectSuccess(await server.run(["link", "web", "--expires", "1h", "--json"])),
    );
    const slug = /\/l\/([a-z2-7]{26})\/$/.exec(created.url)?.[1];
    if (!slug) throw new Error(`unexpected link URL ${created.url}`);
    // Wrapped in an object: resolving with a bare promise would wait for that promise instead.
    const { ended } = await new Promise<{ ended: Promise<number> }>((resolve, reject) => {
      const req = request({ host: LOOPBACK, port: hub3.port, path: `/l/${slug}/stream`, agent: false });
      req.setTimeout(15_000, () => req.destroy(new Error("no response through the link within 15 s")));
      req.on("error", reject);
      req.on("response", (res) => {
        res.on("data", () => {});
        resolve({
          ended: new Promise<number>((done) => {
            res.on("close", () => done(Date.now()));
            res.on("error", () => done(Date.now()));
          }),
        });
      });
      req.end();
    });
    const revoked = parseJsonOutput<{ revokedAt: string }>(
      expectSuccess(await admin2.run(["link", "--revoke", created.id, "--json"])),
    );
    const endedAt = await Promise.race([
      ended,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error("the response was still open 5 s after")), 5_000)),
    ]);
    const cutMs = endedAt - Date.parse(revoked.revokedAt);
    console.info(`link revoked on hub-2: response served by hub-3 cut ${cutMs} ms after the revocation`);
    expect(cutMs).toBeLessThan(CUT_WITHIN_MS);
    // The service's side of the response ended too: nothing is left streaming on hub-1's agent.
    await waitFor(() => streamsClosed.at(-1) === true, { timeoutMs: 5_000, what: "the service to see its response closed" });
    expect(await statusOf(hub3, `/l/${slug}/hello`)).toBe(404);
  });
});

describe("rate limits hold across hubs", () => {
  it("a share's --rate-limit 3 refuses the 4th open whichever hub it reaches", async (ctx) => {
    requireCluster(cluster, ctx);
    const created = await share(["--name", "limited", "--expires", "1h", "--services", "echo", "--rate-limit", "3"]);
    expectSuccess(await partner2.run(["join", created.code]));
    expectSuccess(await partner3.run(["join", created.code]));
    const viaHub2 = await reachPort(partner2, "echo", ["--from", "acme"]);
    const viaHub3 = await reachPort(partner3, "echo", ["--from", "acme"]);
    const before = echo.connections;
    for (const [index, port] of [viaHub2, viaHub3, viaHub2].entries()) {
      expect((await roundTrip(port, Buffer.from(`open ${index}`), 10_000)).toString()).toBe(`open ${index}`);
    }
    expect(echo.connections - before).toBe(3);
    for (const port of [viaHub3, viaHub2]) {
      const refused = await connectTcp(port);
      refused.write("one too many");
      expect((await waitForClose(refused, 5_000)).bytes).toBe(0);
    }
    expect(echo.connections - before).toBe(3);
  });

  it("a link's per-address limit counts requests on every hub together", async (ctx) => {
    requireCluster(cluster, ctx);
    const created = parseJsonOutput<{ url: string }>(
      expectSuccess(await server.run(["link", "web", "--expires", "1h", "--rate-limit", "3", "--json"])),
    );
    const slug = /\/l\/([a-z2-7]{26})\/$/.exec(created.url)?.[1];
    if (!slug) throw new Error(`unexpected link URL ${created.url}`);
    const path = `/l/${slug}/hello`;
    const statuses = [];
    for (const hub of [hub1, hub2, hub3, hub2, hub3]) statuses.push(await statusOf(hub, path));
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it("the share join limit per address counts attempts on every hub together", async (ctx) => {
    requireCluster(cluster, ctx);
    // From an address of its own, so the joins the other tests made from 127.0.0.1 do not count.
    const from = "127.0.0.77";
    const token = agentTokenOf(partner2);
    const hubs = [hub1, hub2, hub3];
    const statuses: number[] = [];
    let last = "";
    // Twenty codes per address every ten minutes (SHARE_JOINS_PER_WINDOW), spread over three hubs.
    for (let attempt = 0; attempt <= 20; attempt++) {
      const answer = await postJson(
        hubs[attempt % 3] as ClusterHub,
        "/trpc/shares.join",
        { code: "AAAA-BBBB-CCCC-DDDD" },
        { from, token },
      );
      statuses.push(answer.status);
      last = answer.text;
    }
    expect(statuses.slice(0, 20).filter((status) => status === 429)).toEqual([]);
    expect(statuses[20]).toBe(429);
    expect(last).toContain("Too many share codes tried from this address");
  });

  it("the sign-in link limit per address counts requests on every hub together", async (ctx) => {
    requireCluster(cluster, ctx);
    const email = `limited-${Date.now()}@acme.test`;
    const ask = async (hub: ClusterHub) => {
      const response = await fetch(`${hub.url}/trpc/auth.requestMagicLink`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email }),
        signal: AbortSignal.timeout(15_000),
      });
      return { status: response.status, text: await response.text() };
    };
    // Five links per address every 15 minutes (MAGIC_LINKS_PER_ADDRESS), spread over three hubs.
    const answers = [];
    for (const hub of [hub1, hub2, hub3, hub1, hub2, hub3]) answers.push(await ask(hub));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(answers[5]?.text).toContain("Too many sign-in links requested for this address");
  });
});
