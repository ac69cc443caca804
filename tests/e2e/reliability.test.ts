// Recovery without anyone typing a command: the hub killed and restarted (on PGlite and on
// PostgreSQL), and a network between agent and hub that drops, stalls and delays traffic.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { createTestDatabase, NO_POSTGRES_WARNING, postgresServer } from "../support/harness.ts";
import { connectTcp, findFreePort, LOOPBACK, roundTrip, startEchoServer, waitFor, waitForClose } from "../support/net.ts";
import {
  createWorkspace,
  expectSuccess,
  type Hub,
  makeTempDir,
  parseJsonOutput,
  startAgent,
  startHub,
} from "../support/processes.ts";

const pgTarget = postgresServer();

/** A query through a local port; resolves with the answer, rejects on any failure. */
async function queryThrough(port: number, sql = "select 1 as one"): Promise<unknown[]> {
  if (!pgTarget) throw new Error("unreachable: no PostgreSQL");
  const admin = new URL(pgTarget.adminUrl);
  const client = new pg.Client({
    host: LOOPBACK,
    port,
    user: decodeURIComponent(admin.username || "postgres"),
    database: decodeURIComponent(admin.pathname.slice(1) || "postgres"),
    connectionTimeoutMillis: 5_000,
    query_timeout: 5_000,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** One round trip through the port: a query on PostgreSQL, or an echo. */
async function probe(port: number): Promise<boolean> {
  if (pgTarget) return (await queryThrough(port)).length === 1;
  return (await roundTrip(port, Buffer.from("probe"), 5_000)).toString() === "probe";
}

/**
 * A new connection to the reach port is refused within `withinMs`: reset while connecting, or
 * accepted and closed at once without a byte.
 */
async function expectRefusedPromptly(port: number, withinMs: number): Promise<void> {
  const started = Date.now();
  try {
    const socket = await connectTcp(port);
    expect((await waitForClose(socket, withinMs + 5_000)).bytes).toBe(0);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toMatch(/^(ECONNRESET|ECONNREFUSED|EPIPE)$/);
  }
  expect(Date.now() - started).toBeLessThan(withinMs);
}

async function reachOn(agent: Awaited<ReturnType<typeof startAgent>>, service: string): Promise<number> {
  const port = await findFreePort();
  expectSuccess(await agent.run(["reach", service, "--port", String(port), "--json"]));
  return port;
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error: unknown) => console.warn(`cleanup failed: ${String(error)}`));
  }
});

describe.each([
  { name: "PGlite", usesPostgres: false },
  { name: "PostgreSQL", usesPostgres: true },
])("hub killed and restarted, on $name", ({ usesPostgres }) => {
  it("agents come back by themselves, and the same reach ports work again", { timeout: 180_000 }, async (ctx) => {
    let databaseUrl: string | undefined;
    if (usesPostgres) {
      const database = await createTestDatabase();
      if (!database) {
        console.warn(`${NO_POSTGRES_WARNING}: SKIPPING the hub restart on PostgreSQL`);
        ctx.skip();
        return;
      }
      databaseUrl = database.url;
      cleanups.push(() => database.drop());
    }
    const port = await findFreePort();
    const dataDir = `${await makeTempDir("hub-restart")}/data`;
    let hub: Hub = await startHub({ port, dataDir, databaseUrl });
    cleanups.push(() => hub.stop());
    const acme = await createWorkspace(hub, "acme", "ops@acme.test");
    const contractor = await createWorkspace(hub, "contractor", "dev@contractor.test");
    const server = await startAgent({ hub, apiKey: acme.apiKey, label: "server" });
    const laptop = await startAgent({ hub, apiKey: acme.apiKey, label: "laptop" });
    const partner = await startAgent({ hub, apiKey: contractor.apiKey, label: "partner" });
    const echo = pgTarget ? null : await startEchoServer();
    expectSuccess(
      await server.run(["expose", pgTarget ? `${pgTarget.host}:${pgTarget.port}` : (echo?.address ?? ""), "--name", "prod-db"]),
    );
    const reachPort = await reachOn(laptop, "prod-db");
    // A share joined before the restart must still work after it: it is stored, not in memory.
    const share = parseJsonOutput<{ code: string }>(expectSuccess(await server.run(["share", "--name", "partner", "--json"])));
    expectSuccess(await partner.run(["join", share.code]));
    const sharedPort = await reachOn(partner, "prod-db");
    expect(await probe(reachPort)).toBe(true);
    expect(await probe(sharedPort)).toBe(true);

    // An open connection through the hub fails when the hub dies (documented: streams do not
    // survive a hub), promptly rather than hanging.
    const open = await connectTcp(reachPort);
    open.write(pgTarget ? Buffer.alloc(0) : Buffer.from("x"));
    await hub.kill();
    const cut = await waitForClose(open, 10_000);
    expect(cut.ms).toBeLessThan(5_000);

    // While the hub is away, the reach port stays bound and refuses new connections promptly.
    await expectRefusedPromptly(reachPort, 3_000);

    // The hub comes back on the same address with the same data; nobody types anything.
    const restartedAt = Date.now();
    hub = await startHub({ port, dataDir, databaseUrl });
    cleanups.push(() => hub.stop());
    await waitFor(() => probe(reachPort).catch(() => false), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: "the reach to work again",
    });
    await waitFor(() => probe(sharedPort).catch(() => false), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: "the share to work again",
    });
    const recoveredMs = Date.now() - restartedAt;
    console.info(
      `hub restart (${usesPostgres ? "PostgreSQL" : "PGlite"}): reach and share working again ${recoveredMs} ms after the restart began`,
    );
    // Within the backoff window: the longest wait between two attempts is 30 s.
    expect(recoveredMs).toBeLessThan(45_000);
    const status = parseJsonOutput<{ hub: { state: string }; exposures: unknown[] }>(
      expectSuccess(await server.run(["status", "--json"])),
    );
    expect(status.hub.state).toBe("connected");
    expect(status.exposures).toHaveLength(1);
  });
});

describe("a network between agent and hub that drops, stalls and delays", () => {
  it("recovers from each fault by itself, and no connection hangs", { timeout: 180_000 }, async () => {
    // Short heartbeats on both sides so that a stalled link is noticed within seconds.
    const heartbeat = { HEARTBEAT_SECONDS: "1", CONNECT_HEARTBEAT_SECONDS: "1" };
    const hub = await startHub({ env: heartbeat });
    cleanups.push(() => hub.stop());
    const proxy = await startFaultProxy(hub.port);
    cleanups.push(() => proxy.close());
    const { apiKey } = await createWorkspace(hub, "acme", "ops@acme.test");
    const echo = await startEchoServer();
    const server = await startAgent({ hub, apiKey, label: "server", env: heartbeat });
    expectSuccess(await server.run(["expose", echo.address, "--name", "echo"]));
    // Only the laptop's path to the hub goes through the faulty network.
    const laptop = await startAgent({ hub: { url: proxy.url }, apiKey, label: "laptop", env: heartbeat });
    const port = await reachOn(laptop, "echo");
    const works = () =>
      roundTrip(port, Buffer.from("ping"), 3_000).then(
        (reply) => reply.toString() === "ping",
        () => false,
      );
    expect(await works()).toBe(true);

    // 1. Drop: every connection cut at once; the agent redials.
    const acceptedBefore = proxy.acceptedConnections;
    proxy.dropAll();
    await waitFor(works, { timeoutMs: 20_000, intervalMs: 250, what: "the reach after a drop" });
    expect(proxy.acceptedConnections).toBeGreaterThan(acceptedBefore);

    // 2. Stall: the link stays open but carries nothing (a dead NAT). An open stream must not
    // hang: both ends notice the silence within a few heartbeats and close it.
    const open = await connectTcp(port);
    open.write("before the stall");
    await waitFor(() => open.bytesRead === "before the stall".length, { what: "the echo before the stall" });
    proxy.setMode("stall");
    open.write("into the void");
    const stalled = await waitForClose(open, 15_000);
    expect(stalled.ms).toBeLessThan(10_000);
    // While stalled, new connections to the reach port are refused promptly, not left hanging.
    await expectRefusedPromptly(port, 15_000);
    proxy.setMode("pass");
    await waitFor(works, { timeoutMs: 30_000, intervalMs: 250, what: "the reach after a stall" });

    // 3. Delay: every chunk held 150 ms each way. Slower, but correct.
    proxy.setMode("delay", { delayMs: 150 });
    const payload = Buffer.alloc(200_000, 7);
    expect((await roundTrip(port, payload, 30_000)).equals(payload)).toBe(true);
    proxy.setMode("pass");

    // 4. The hub unreachable altogether for a while: refused promptly, then back by itself.
    proxy.setRefusing(true);
    proxy.dropAll();
    await waitFor(async () => !(await works()), { timeoutMs: 10_000, what: "the reach to notice the hub is gone" });
    await expectRefusedPromptly(port, 3_000);
    proxy.setRefusing(false);
    await waitFor(works, { timeoutMs: 40_000, intervalMs: 250, what: "the reach after the hub came back" });
  });
});
