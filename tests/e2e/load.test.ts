// Load: 100 agents (50 exposing, 50 reaching, through the SDK in this process) and 2,000
// concurrent streams through one real hub process for a bounded time, every byte checked, with
// the hub's memory sampled throughout.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { Agent } from "@private-connect/agent";
import { afterAll, describe, expect, it } from "vitest";
import { connectTcp } from "../support/net.ts";
import { createWorkspace, residentBytes, startHub } from "../support/processes.ts";

const EXPOSING_AGENTS = 50;
const REACHING_AGENTS = 50;
const STREAMS = 2_000;
/** How long the streams keep exchanging once all are open. */
const TRAFFIC_MS = 20_000;
/**
 * The stated bounds: the 2,000 streams and their traffic add at most 192 MiB to the hub's
 * resident memory, and the whole hub (embedded PGlite included, about 500 MiB idle) stays under
 * 1 GiB. Measured: about +60 MiB.
 */
const HUB_RSS_GROWTH_LIMIT_BYTES = 192 * 1024 * 1024;
const HUB_RSS_LIMIT_BYTES = 1024 * 1024 * 1024;

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await Promise.resolve(cleanup()).catch((error: unknown) => console.warn(`cleanup failed: ${String(error)}`));
  }
});

/** Sends random chunks and checks that each comes back whole, until `until`; returns bytes echoed. */
async function pingPong(socket: Socket, until: number): Promise<number> {
  let echoed = 0;
  const inbox: Buffer[] = [];
  let waiting: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    inbox.push(chunk);
    waiting?.();
  });
  const closed = new Promise<never>((_, reject) => {
    socket.once("close", () => reject(new Error(`stream closed early after ${echoed} bytes`)));
  });
  closed.catch(() => {});
  while (Date.now() < until) {
    const chunk = randomBytes(1024 + Math.floor(Math.random() * 7 * 1024));
    const want = createHash("sha256").update(chunk).digest("hex");
    socket.write(chunk);
    let received = 0;
    const hash = createHash("sha256");
    while (received < chunk.length) {
      if (inbox.length === 0) {
        await Promise.race([
          new Promise<void>((resolve) => {
            waiting = resolve;
          }),
          closed,
        ]);
        waiting = undefined;
        continue;
      }
      const next = inbox.shift() as Buffer;
      received += next.length;
      hash.update(next);
    }
    if (received !== chunk.length || hash.digest("hex") !== want) throw new Error("echo corrupted");
    echoed += received;
    // Interactive-looking traffic, not a saturating loop: 2,000 of these share two cores.
    await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
  }
  return echoed;
}

describe("load", () => {
  it(`carries ${STREAMS} concurrent streams of ${REACHING_AGENTS + EXPOSING_AGENTS} agents, every byte checked`, {
    timeout: 240_000,
  }, async () => {
    const hub = await startHub();
    cleanups.push(() => hub.stop());
    const { apiKey } = await createWorkspace(hub, "load", "ops@load.test");
    const hubPid = hub.process.pid as number;

    const echo = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => {});
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => echo.close(() => resolve())));
    const echoPort = (echo.address() as { port: number }).port;

    const register = async (label: string) => {
      const identity = await Agent.register({ hubUrl: hub.url, apiKey, label });
      return identity;
    };
    const exposing: Agent[] = [];
    for (let i = 0; i < EXPOSING_AGENTS; i++) {
      const identity = await register(`server-${i}`);
      const agent = new Agent({
        hubUrl: hub.url,
        token: identity.token,
        exposures: [{ name: `echo-${i}`, host: "127.0.0.1", port: echoPort }],
      });
      agent.start();
      cleanups.push(() => agent.stop());
      exposing.push(agent);
    }
    const reaching: Agent[] = [];
    for (let i = 0; i < REACHING_AGENTS; i++) {
      const agent = new Agent({ hubUrl: hub.url, token: (await register(`laptop-${i}`)).token });
      agent.start();
      cleanups.push(() => agent.stop());
      reaching.push(agent);
    }
    await Promise.all([...exposing, ...reaching].map((agent) => agent.waitConnected(30_000)));
    // Exposures are announced right after connecting; wait until the hub knows them all.
    const reachPorts: number[] = [];
    for (let i = 0; i < REACHING_AGENTS; i++) {
      const agent = reaching[i] as Agent;
      for (let attempt = 0; ; attempt++) {
        try {
          reachPorts.push((await agent.reach(`echo-${i % EXPOSING_AGENTS}`)).port);
          break;
        } catch (error) {
          if (attempt > 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }

    let peakRss = (await residentBytes(hubPid)) ?? 0;
    const baselineRss = peakRss;
    const sampler = setInterval(() => {
      void residentBytes(hubPid).then((rss) => {
        if (rss !== null && rss > peakRss) peakRss = rss;
      });
    }, 250);
    cleanups.push(() => clearInterval(sampler));

    // All 2,000 open at once, 40 per reaching agent.
    const openedAt = Date.now();
    const sockets = await Promise.all(
      Array.from({ length: STREAMS }, (_, n) => connectTcp(reachPorts[n % REACHING_AGENTS] as number, "127.0.0.1", 60_000)),
    );
    for (const socket of sockets) socket.on("error", () => {});
    // An echo on each proves each is open end to end before the timed traffic starts.
    const until = Date.now() + TRAFFIC_MS;
    const results = await Promise.allSettled(sockets.map((socket) => pingPong(socket, until)));
    clearInterval(sampler);
    const failed = results.filter((result) => result.status === "rejected");
    const echoedBytes = results.reduce((sum, result) => sum + (result.status === "fulfilled" ? result.value : 0), 0);
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    const streamsOpen = Number(/^\S*streams_open\S*\s+(\d+)/m.exec(metrics)?.[1] ?? Number.NaN);
    console.info(
      `load: ${STREAMS} streams of ${EXPOSING_AGENTS + REACHING_AGENTS} agents, ${(echoedBytes / 1e6).toFixed(1)} MB echoed and checked in ${((Date.now() - openedAt) / 1000).toFixed(1)} s; hub RSS ${(baselineRss / 2 ** 20).toFixed(0)} MiB before, ${(peakRss / 2 ** 20).toFixed(0)} MiB peak; streams open at the hub ${streamsOpen}`,
    );
    expect(failed.map((result) => String((result as PromiseRejectedResult).reason)).slice(0, 3)).toEqual([]);
    expect(streamsOpen).toBe(STREAMS);
    expect(peakRss - baselineRss).toBeLessThan(HUB_RSS_GROWTH_LIMIT_BYTES);
    expect(peakRss).toBeLessThan(HUB_RSS_LIMIT_BYTES);

    for (const socket of sockets) socket.destroy();
    await expect
      .poll(async () => /^\S*streams_open\S*\s+(\d+)/m.exec(await (await fetch(`${hub.url}/metrics`)).text())?.[1], {
        timeout: 15_000,
      })
      .toBe("0");
  });
});
