// A hub of three killed with SIGKILL mid-stream, behind a real HAProxy: streams through the other
// hubs keep flowing byte for byte, the dead hub's agents come back through HAProxy to another hub
// and their reach ports work again with nobody typing, the dead hub's presence goes within
// seconds, and an open routed by a location the dead hub left behind resolves fast instead of
// hanging. Then one agent token connected twice on two hubs: the newest wins and it is audited.
import { randomBytes } from "node:crypto";
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentLog,
  agentTokenOf,
  type Cluster,
  type ClusterAgent,
  type ClusterHub,
  closeClusters,
  reachPort,
  requireCluster,
  startClusterAgent,
  startClusterOrSkip,
} from "../support/cluster.ts";
import { closeHaproxies, type Haproxy, startHaproxy } from "../support/haproxy.ts";
import {
  connectTcp,
  roundTrip,
  sha256Hex,
  startEchoServer,
  startSha256Server,
  type TestServer,
  waitFor,
  waitForClose,
} from "../support/net.ts";
import { connect, createWorkspace, expectSuccess, makeTempDir, parseJsonOutput } from "../support/processes.ts";

const KiB = 1024;

let cluster: Cluster | null = null;
let proxy: Haproxy;
let apiKey: string;
let echo: TestServer;
let sha: TestServer;

beforeAll(async () => {
  cluster = await startClusterOrSkip("cluster failover tests", { hubs: 3, haproxy: true });
  if (!cluster) return;
  proxy = await startHaproxy({ backends: cluster.hubs.map((hub) => ({ name: hub.hubId, port: hub.port })) });
  ({ apiKey } = await createWorkspace(cluster.hub("hub-1"), "acme", "ops@acme.test"));
  echo = await startEchoServer();
  sha = await startSha256Server();
}, 180_000);

afterAll(async () => {
  await closeHaproxies();
  await closeClusters();
});

/**
 * Keeps one stream busy: writes a random chunk every few milliseconds and checks that the echo
 * returns exactly what was sent, in order. `stop()` reports what crossed and any fault.
 */
function pumpEcho(socket: net.Socket): { stop(): Promise<{ sent: number; echoed: number; fault?: string }> } {
  const sent: Buffer[] = [];
  let sentBytes = 0;
  const received: Buffer[] = [];
  let receivedBytes = 0;
  let fault: string | undefined;
  socket.on("data", (chunk: Buffer) => {
    received.push(chunk);
    receivedBytes += chunk.length;
  });
  socket.on("error", (error) => {
    fault ??= `error: ${error.message}`;
  });
  socket.on("close", () => {
    fault ??= "closed";
  });
  const timer = setInterval(() => {
    if (fault || socket.destroyed) return;
    const chunk = randomBytes(16 * KiB);
    sent.push(chunk);
    sentBytes += chunk.length;
    socket.write(chunk);
  }, 10);
  return {
    async stop() {
      clearInterval(timer);
      // Everything sent comes back before we compare.
      await waitFor(() => fault !== undefined || receivedBytes >= sentBytes, {
        timeoutMs: 10_000,
        what: `the echo of ${sentBytes} bytes (got ${receivedBytes})`,
      }).catch(() => {});
      const isIntact = sha256Hex(Buffer.concat(sent)) === sha256Hex(Buffer.concat(received));
      return { sent: sentBytes, echoed: receivedBytes, fault: fault ?? (isIntact ? undefined : "bytes differ") };
    },
  };
}

function works(port: number): Promise<boolean> {
  const payload = randomBytes(4 * KiB);
  return roundTrip(port, payload, 3_000).then(
    (reply) => reply.toString() === sha256Hex(payload),
    () => false,
  );
}

describe("a hub killed with SIGKILL", () => {
  it("costs only its own connections: other hubs' streams flow on, its agents come back through HAProxy", {
    timeout: 180_000,
  }, async (ctx) => {
    const c = requireCluster(cluster, ctx);
    // The victim is whichever hub HAProxy gave this exposing agent.
    const lbServer = await startClusterAgent(proxy, { apiKey, label: "lb-server" });
    const victimId = (await c.waitForLocation(lbServer.agentId)).hub;
    const victim = c.hub(victimId);
    const survivors = c.hubs.filter((hub) => hub.hubId !== victimId);
    const [hubX, hubY] = survivors;
    if (!hubX || !hubY) throw new Error("expected two surviving hubs");
    expectSuccess(await lbServer.run(["expose", sha.address, "--name", "lb-sha"]));
    // The reaching agent on the victim too, so that both ends of this reach must come back.
    let lbLaptop: ClusterAgent | undefined;
    for (let attempt = 1; attempt <= 6 && !lbLaptop; attempt++) {
      const candidate = await startClusterAgent(proxy, { apiKey, label: `lb-laptop-${attempt}` });
      if ((await c.waitForLocation(candidate.agentId)).hub === victimId) lbLaptop = candidate;
      // Round robin: one more connection through HAProxy moves the next agent's turn along.
      else await connectTcp(proxy.port).then((socket) => socket.destroy());
    }
    if (!lbLaptop) throw new Error(`six agents through HAProxy and none on ${victimId}: is it balancing round robin?`);
    const lbPort = await reachPort(lbLaptop, "lb-sha");
    expect(await works(lbPort)).toBe(true);

    // A pair that never touches the victim: exposing on one survivor, reaching from the other.
    const directServer = await startClusterAgent(hubX, { apiKey, label: "direct-server" });
    const directLaptop = await startClusterAgent(hubY, { apiKey, label: "direct-laptop" });
    expectSuccess(await directServer.run(["expose", echo.address, "--name", "direct-echo"]));
    const directPort = await reachPort(directLaptop, "direct-echo");
    const streams = await Promise.all(Array.from({ length: 4 }, () => connectTcp(directPort)));
    const pumps = streams.map((socket) => pumpEcho(socket));
    // A stream through the victim, which is expected to end.
    const doomed = await connectTcp(lbPort);
    doomed.on("error", () => {});

    await new Promise((resolve) => setTimeout(resolve, 500));
    await c.killHub(victim);
    const killedAt = Date.now();
    // Measured from the kill, while the checks below run (each settled into a value, so that a
    // failure waits for its turn below instead of going unhandled).
    const relocated = c.waitForLocation(lbServer.agentId, { hubIds: survivors.map((hub) => hub.hubId), timeoutMs: 45_000 }).then(
      (location) => ({ location, ms: Date.now() - killedAt }),
      (error: unknown) => ({ error }),
    );
    const reachBack = waitFor(() => works(lbPort), {
      timeoutMs: 45_000,
      intervalMs: 250,
      what: "lb-laptop's reach port to work again",
    }).then(
      () => Date.now() - killedAt,
      (error: unknown) => ({ error }),
    );
    const haproxyNoticed = proxy.waitForServer(victimId, "DOWN", 5_000).then(
      () => undefined,
      (error: unknown) => error,
    );

    // The stream through the victim ends promptly rather than hanging.
    expect((await waitForClose(doomed, 10_000)).ms).toBeLessThan(10_000);
    // The dead hub's heartbeat (3 s TTL) is gone within seconds: nothing routes to it after.
    await waitFor(async () => (await c.redis.exists(`${c.prefix}hub:${victimId}`)) === 0, {
      timeoutMs: 6_000,
      what: `${victimId}'s heartbeat record to expire`,
    });
    const presenceGoneMs = Date.now() - killedAt;

    const noticeFailure = await haproxyNoticed;
    if (noticeFailure) throw noticeFailure;
    // The exposing agent comes back through HAProxy to a surviving hub, and the reach port works again.
    const back = await relocated;
    if ("error" in back) throw back.error;
    const laptopBack = await c.waitForLocation(lbLaptop.agentId, {
      hubIds: survivors.map((hub) => hub.hubId),
      timeoutMs: 45_000,
    });
    const recoveredMs = await reachBack;
    if (typeof recoveredMs !== "number") throw recoveredMs.error;
    console.info(
      `hub ${victimId} killed: its heartbeat gone after ${presenceGoneMs} ms; lb-server back on ${back.location.hub} after ${back.ms} ms, lb-laptop on ${laptopBack.hub}, ` +
        `reach working again after ${recoveredMs} ms`,
    );

    // Meanwhile the streams between the survivors never stopped, byte for byte.
    const results = await Promise.all(pumps.map((pump) => pump.stop()));
    for (const result of results) {
      expect(result.fault).toBeUndefined();
      expect(result.echoed).toBe(result.sent);
      expect(result.sent).toBeGreaterThan(0);
    }
    for (const socket of streams) socket.destroy();
    // And new streams between them too.
    const payload = randomBytes(64 * KiB);
    expect(await roundTrip(directPort, payload, 10_000)).toEqual(payload);
  });

  it("answers an open to an agent whose hub just died fast, before its location expires, then forgets that location", {
    timeout: 120_000,
  }, async (ctx) => {
    const c = requireCluster(cluster, ctx);
    const alive = c.hubs.find((hub) => hub.process.exitCode === null && hub.process.signalCode === null);
    if (!alive) throw new Error("no live hub left");
    const doomedHub: ClusterHub = await c.addHub({ hubId: "hub-stale" });
    // Dialled directly, not through HAProxy: it keeps trying the dead hub and does not come back.
    const stranded = await startClusterAgent(doomedHub, { apiKey, label: "stranded" });
    expectSuccess(await stranded.run(["expose", echo.address, "--name", "stranded-echo"]));
    const reacher = await startClusterAgent(alive, { apiKey, label: "stale-reacher" });
    const port = await reachPort(reacher, "stranded-echo");
    expect(await roundTrip(port, Buffer.from("ping"), 10_000)).toEqual(Buffer.from("ping"));

    await c.killHub(doomedHub);
    // The record the dead hub left is still there (30 s TTL): this open is routed by a stale location.
    const stale = await c.locationOf(stranded.agentId);
    expect(stale?.hub).toBe("hub-stale");
    const started = Date.now();
    let outcome: string;
    try {
      const socket = await connectTcp(port);
      socket.write("anyone there?");
      const closed = await waitForClose(socket, 15_000);
      outcome = `closed after ${closed.ms} ms with ${closed.bytes} bytes${closed.error ? ` (${closed.error.message})` : ""}`;
      expect(closed.bytes).toBe(0);
    } catch (error) {
      outcome = `refused: ${String(error)}`;
    }
    const resolvedMs = Date.now() - started;
    console.info(`open to an agent of a dead hub: ${outcome}, resolved in ${resolvedMs} ms`);
    expect(resolvedMs).toBeLessThan(5_000);
    // The reaching agent was told why, in words (the stream reset's reason).
    const reason = await waitFor(() => /Could not reach stranded-echo: .+/.exec(agentLog(reacher))?.[0], {
      timeoutMs: 5_000,
      what: "the reason in stale-reacher's agent.log",
    });
    console.info(`stale-reacher's agent.log: ${reason}`);

    // Once the dead hub's heartbeat has expired (3 s TTL), the router forgets the record it left
    // behind, and the answer is that the service is offline: still fast, and never routed there again.
    await waitFor(async () => (await c.redis.exists(`${c.prefix}hub:hub-stale`)) === 0, {
      timeoutMs: 6_000,
      what: "hub-stale's heartbeat record to expire",
    });
    // The workspace's listing no longer shows the stranded agent online, though its record has 25 s to live.
    const listed = parseJsonOutput<{ agentId: string; online: boolean }[]>(
      expectSuccess(await reacher.run(["agents", "list", "--json"])),
    );
    expect(listed.find((agent) => agent.agentId === stranded.agentId)?.online).toBe(false);
    const again = Date.now();
    const second = await connectTcp(port);
    second.on("error", () => {});
    expect((await waitForClose(second, 10_000)).bytes).toBe(0);
    expect(Date.now() - again).toBeLessThan(3_000);
    await waitFor(() => agentLog(reacher).includes("Could not reach stranded-echo: Service stranded-echo is offline"), {
      timeoutMs: 5_000,
      what: "an offline reason in stale-reacher's agent.log",
    });
    await waitFor(async () => (await c.locationOf(stranded.agentId)) === undefined, {
      timeoutMs: 5_000,
      what: "the stale location to be forgotten",
    });
  });
});

describe("one agent token connected twice", () => {
  it("keeps the newest connection, closes the older one as replaced, and audits it as a duplicate", {
    timeout: 120_000,
  }, async (ctx) => {
    const c = requireCluster(cluster, ctx);
    const live = c.hubs.filter((hub) => hub.process.exitCode === null && hub.process.signalCode === null);
    const [first, second] = live;
    if (!first || !second) throw new Error("expected two live hubs");
    const original: ClusterAgent = await startClusterAgent(first, { apiKey, label: "twin" });
    const firstLocation = await c.waitForLocation(original.agentId, { hubIds: [first.hubId] });

    // The same token, copied to another machine (another config directory) and used on another hub.
    const cloneDir = `${await makeTempDir("agent-twin-clone")}/config`;
    expectSuccess(
      await connect(["up", "--hub", second.url, "--token", agentTokenOf(original), "--detach"], {
        configDir: cloneDir,
        timeoutMs: 60_000,
      }),
    );
    // The newest connection holds the location...
    const secondLocation = await c.waitForLocation(original.agentId, { hubIds: [second.hubId] });
    expect(secondLocation.epoch).not.toBe(firstLocation.epoch);
    // ...and the older one, on the other hub, was closed as replaced.
    await waitFor(() => /Disconnected from the hub: .*replaced/i.test(agentLog(original)), {
      timeoutMs: 5_000,
      what: "the original agent's log to say it was replaced",
    });

    // The replaced agent may reconnect and take its place back (each takeover is another event):
    // the one this test made, first hub replaced by the second, must be among them.
    const wanted = expect.objectContaining({
      action: "duplicate_connection",
      target: original.agentId,
      data: expect.objectContaining({ agentId: original.agentId, previousHubId: first.hubId, hubId: second.hubId }),
    });
    const events = await waitFor(
      async () => {
        const listed = parseJsonOutput<{ action: string; target: string | null; data: Record<string, unknown> }[]>(
          expectSuccess(await original.run(["audit", "--type", "token", "--action", "duplicate_connection", "--json"])),
        );
        const isThere = listed.some((event) => event.data.previousHubId === first.hubId && event.data.hubId === second.hubId);
        return isThere ? listed : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 500, what: `a duplicate_connection audit event from ${first.hubId} to ${second.hubId}` },
    );
    expect(events).toContainEqual(wanted);
    await connect(["down"], { configDir: cloneDir });
    await original.down();
  });
});
