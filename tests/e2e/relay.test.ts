// Relay behaviour through real processes: many concurrent streams, early data, half-close both
// ways, a reader that stops reading, and the exposing agent dying mid-stream.

import { randomBytes, randomInt } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import {
  connectTcp,
  isPortFree,
  LOOPBACK,
  readAll,
  roundTrip,
  sha256Hex,
  startDelayedEchoServer,
  startEchoServer,
  startGreetThenListenServer,
  startReplyAfterFinServer,
  startSha256Server,
  startSinkServer,
  type TestServer,
  waitFor,
  waitForClose,
} from "../support/net.ts";
import {
  type Agent,
  createWorkspace,
  expectSuccess,
  type Hub,
  isAlive,
  parseJsonOutput,
  residentBytes,
  startAgent,
  startHub,
} from "../support/processes.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** The most a stalled writer may get accepted: relay windows + WebSocket + kernel buffers. */
const SLOW_READER_BOUND = 32 * MiB;

let hub: Hub;
let exposer: Agent;
let reacher: Agent;
const reachPorts = new Map<string, number>();
const servers: Record<string, TestServer> = {};
let greetServer: Awaited<ReturnType<typeof startGreetThenListenServer>>;
const GREETING = Buffer.from("220 hello from the far side\r\n");

async function exposeAndReach(name: string, server: TestServer, by: Agent = exposer): Promise<number> {
  expectSuccess(await by.run(["expose", server.address, "--name", name]));
  const reached = parseJsonOutput<{ port: number }>(expectSuccess(await reacher.run(["reach", name, "--json"])));
  expect(reached.port).toBeGreaterThan(0);
  reachPorts.set(name, reached.port);
  return reached.port;
}

function port(name: string): number {
  const p = reachPorts.get(name);
  if (!p) throw new Error(`no reach port for ${name}`);
  return p;
}

beforeAll(async () => {
  hub = await startHub();
  const { apiKey } = await createWorkspace(hub, "relay", "ops@relay.test");
  [exposer, reacher] = await Promise.all([
    startAgent({ hub, apiKey, label: "exposer" }),
    startAgent({ hub, apiKey, label: "reacher" }),
  ]);
  servers.sha = await startSha256Server();
  servers.echo = await startEchoServer();
  servers.delayed = await startDelayedEchoServer(750);
  servers.replyAfterFin = await startReplyAfterFinServer();
  servers.sink = await startSinkServer();
  greetServer = await startGreetThenListenServer(GREETING);
  await exposeAndReach("sha", servers.sha);
  await exposeAndReach("echo", servers.echo);
  await exposeAndReach("delayed", servers.delayed);
  await exposeAndReach("reply-after-fin", servers.replyAfterFin);
  await exposeAndReach("sink", servers.sink);
  await exposeAndReach("greet", greetServer);
});

describe("relay through one hub and two agents", () => {
  it("carries 50 concurrent connections through one reach, each with its own bytes intact", async () => {
    const connectionsBefore = (servers.sha as TestServer).connections;
    const payloads = Array.from({ length: 50 }, () => randomBytes(randomInt(256 * KiB, MiB + 1)));
    const replies = await Promise.all(payloads.map((payload) => roundTrip(port("sha"), payload, 50_000)));
    const mismatches = replies
      .map((reply, i) => ({ i, got: reply.toString("utf8"), want: sha256Hex(payloads[i] as Buffer) }))
      .filter(({ got, want }) => got !== want);
    expect(mismatches).toEqual([]);
    // Fifty streams, not one connection reused: the far side saw each one.
    expect((servers.sha as TestServer).connections - connectionsBefore).toBe(50);
  });

  it("delivers bytes a client sends before the far side has accepted (early data)", async () => {
    const payload = randomBytes(128 * KiB);
    const socket = net.connect({ host: LOOPBACK, port: port("delayed") });
    socket.on("error", () => {});
    // Written and half-closed before even our own 'connect' event: the reach agent has these bytes
    // before it has opened the stream, and the target reads nothing for 750 ms after that.
    const reply = readAll(socket, { timeoutMs: 20_000 });
    socket.end(payload);
    expect(sha256Hex(await reply)).toBe(sha256Hex(payload));
  });

  it("carries the client's half-close: the full response comes after the client's FIN", async () => {
    // The server answers only once it has seen FIN, then sends everything back.
    const payload = randomBytes(2 * MiB);
    const reply = await roundTrip(port("reply-after-fin"), payload, 30_000);
    expect(reply.length).toBe(payload.length);
    expect(sha256Hex(reply)).toBe(sha256Hex(payload));
  });

  it("carries the server's half-close: the client still sends after the server's FIN", async () => {
    const socket = net.connect({ host: LOOPBACK, port: port("greet"), allowHalfOpen: true });
    socket.on("error", () => {});
    const greeting = await readAll(socket, { timeoutMs: 15_000 });
    expect(greeting).toEqual(GREETING);
    expect(socket.destroyed).toBe(false);
    const payload = randomBytes(256 * KiB);
    socket.end(payload);
    const received = await Promise.race([
      greetServer.received,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("server never got the client's bytes and FIN")), 15_000),
      ),
    ]);
    expect(sha256Hex(received)).toBe(sha256Hex(payload));
    socket.destroy();
  });

  it("bounds what a reader that stops reading can make the relay buffer, and other streams keep flowing", async () => {
    const pids = { hub: hub.process.pid, exposer: exposer.pid(), reacher: reacher.pid() };
    const rssBefore = await rssOf(pids);

    const writer = await connectTcp(port("sink"));
    writer.on("error", () => {});
    const chunk = randomBytes(64 * KiB);
    let accepted = 0;
    let stalled = false;
    const deadline = Date.now() + 40_000;
    // Bounded in bytes (8x the bound) and in time; stops when a write is not drained within 2 s.
    while (accepted < 8 * SLOW_READER_BOUND && Date.now() < deadline) {
      accepted += chunk.length;
      if (!writer.write(chunk)) {
        const drained = await Promise.race([
          once(writer, "drain").then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 2_000)),
        ]);
        if (!drained) {
          stalled = true;
          break;
        }
      }
    }
    const rssStalled = await rssOf(pids);
    console.log(
      `slow reader: writer stalled=${stalled} after ${(accepted / MiB).toFixed(1)} MiB accepted; ` +
        `RSS growth MiB ${JSON.stringify(rssGrowth(rssBefore, rssStalled))}`,
    );
    expect(stalled, `writes never stalled: ${accepted} bytes accepted`).toBe(true);
    expect(accepted).toBeLessThan(SLOW_READER_BOUND);

    // Meanwhile, another stream through the same two agents flows.
    const ping = randomBytes(64 * KiB);
    const started = Date.now();
    expect(await roundTrip(port("echo"), ping, 10_000)).toEqual(ping);
    expect(Date.now() - started).toBeLessThan(10_000);

    // Nothing was dropped to stay within the bound: once the reader reads, every byte arrives.
    const [sinkSocket] = [...(servers.sink as TestServer).sockets];
    expect(sinkSocket).toBeDefined();
    if (!sinkSocket) return;
    let delivered = 0;
    sinkSocket.on("data", (c: Buffer) => {
      delivered += c.length;
    });
    const ended = once(sinkSocket, "end");
    sinkSocket.resume();
    writer.end();
    await Promise.race([
      ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`sink got ${delivered}/${accepted} bytes`)), 30_000)),
    ]);
    expect(delivered).toBe(accepted);
    writer.destroy();
  });

  it("resets streams when the exposing agent dies, and refuses new connections on the still-bound port", async () => {
    const { apiKey } = await createWorkspace(hub, "victims", "ops@victims.test");
    // A separate workspace and agents, so this test kills nothing the others use.
    const victim = await startAgent({ hub, apiKey, label: "victim" });
    const victimReacher = await startAgent({ hub, apiKey, label: "victim-reacher" });
    const echo = await startEchoServer();
    expectSuccess(await victim.run(["expose", echo.address, "--name", "victim-svc"]));
    const { port: victimPort } = parseJsonOutput<{ port: number }>(
      expectSuccess(await victimReacher.run(["reach", "victim-svc", "--json"])),
    );

    // A stream in the middle of its life: bytes have gone both ways.
    const socket = await connectTcp(victimPort);
    socket.on("error", () => {});
    socket.write("ping");
    await waitForData(socket, 4, 10_000);

    const pid = victim.pid();
    expect(pid).not.toBeNull();
    if (!pid) return;
    process.kill(pid, "SIGKILL");
    await waitFor(() => !isAlive(pid), { timeoutMs: 5_000, what: "the killed agent to be gone" });

    // The client's socket closes or errors; it does not hang.
    const outcome = await waitForClose(socket, 15_000);
    expect(outcome.ms).toBeLessThan(15_000);

    // The reach port stays bound, and a new connection gets a prompt, clear refusal.
    expect(await isPortFree(victimPort)).toBe(false);
    const fresh = await connectTcp(victimPort);
    fresh.on("error", () => {});
    fresh.write("anyone there?");
    const refusal = await waitForClose(fresh, 5_000);
    expect(refusal.bytes).toBe(0);

    // The hub survived, and so did every other stream's agents.
    expect(hub.process.exitCode).toBeNull();
    const ping = Buffer.from("still alive");
    expect(await roundTrip(port("echo"), ping, 10_000)).toEqual(ping);
  });
});

function waitForData(socket: net.Socket, bytes: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`only ${got}/${bytes} bytes within ${timeoutMs} ms`)), timeoutMs);
    const onData = (c: Buffer) => {
      got += c.length;
      if (got >= bytes) {
        clearTimeout(timer);
        socket.off("data", onData);
        resolve();
      }
    };
    socket.on("data", onData);
  });
}

async function rssOf(pids: Record<string, number | null | undefined>): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = pid ? await residentBytes(pid) : null;
  return out;
}

function rssGrowth(before: Record<string, number | null>, after: Record<string, number | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(before)) {
    const a = before[name];
    const b = after[name];
    out[name] = a != null && b != null ? ((b - a) / MiB).toFixed(1) : "n/a";
  }
  return out;
}
