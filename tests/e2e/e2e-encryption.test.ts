// End-to-end encryption against a hostile hub (issue 19). The real built hub and agents run as
// usual, but the agents reach the hub through tests/support/hostile-hub.ts, a man in the middle
// that reads every relayed byte and, per test, lies in services.resolve, strips the handshake,
// alters a DATA frame or replays a recorded stream. Each test gets its own hub (its own
// database), its own proxy and agents, so none depends on what another pinned.
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import type net from "node:net";
import { join } from "node:path";
import { decodeOpen, decodeReset, FrameType, ResetCode } from "@private-connect/protocol";
import { describe, expect, it, onTestFinished } from "vitest";
import { type HostileHub, makeImpostorKey, type RecordedFrame, startHostileHub } from "../support/hostile-hub.ts";
import { connectTcp, roundTrip, sha256Hex, startEchoServer, type TestServer, waitFor, waitForClose } from "../support/net.ts";
import {
  type Agent,
  createWorkspace,
  expectSuccess,
  type Hub,
  parseJsonOutput,
  startAgent,
  startHub,
} from "../support/processes.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Starting a hub and two agents, then the test's own work, on a busy 2-core machine. */
const SCENARIO_TIMEOUT_MS = 120_000;

interface Security {
  isEndToEnd: boolean;
  peer?: { agentId: string; label: string; isVerified: boolean };
  refusal?: string;
}

interface StatusJson {
  agent: { id: string; label: string };
  hub: { state: string; relaysEndToEnd?: boolean };
  exposures: { name: string; security?: Security; lastFailure?: { reason: string } }[];
  reaches: { service: string; port: number; security?: Security; lastFailure?: { reason: string } }[];
}

interface Scenario {
  hub: Hub;
  proxy: HostileHub;
  exposer: Agent;
  reacher: Agent;
}

/** A hub of its own, the hostile proxy in front of it, and two agents of one workspace behind the proxy. */
async function startScenario(name: string, options: { isRecording?: boolean; isStripping?: boolean } = {}): Promise<Scenario> {
  const hub = await startHub();
  const proxy = await startHostileHub(hub.url);
  onTestFinished(async () => {
    await proxy.close();
    await hub.stop();
  });
  proxy.setRecording(options.isRecording ?? false);
  proxy.stripEndToEnd(options.isStripping ?? false);
  const { apiKey } = await createWorkspace(hub, name, `ops@${name}.test`);
  const [exposer, reacher] = await Promise.all([
    startAgent({ hub: proxy, apiKey, label: `${name}-exposer` }),
    startAgent({ hub: proxy, apiKey, label: `${name}-reacher` }),
  ]);
  onTestFinished(async () => {
    await Promise.all([exposer.down(), reacher.down()]);
  });
  return { hub, proxy, exposer, reacher };
}

async function expose(agent: Agent, server: TestServer, name: string, policy?: "required" | "preferred" | "off"): Promise<void> {
  expectSuccess(await agent.run(["expose", server.address, "--name", name, ...(policy ? ["--e2e", policy] : [])]));
}

async function reach(agent: Agent, name: string): Promise<number> {
  return parseJsonOutput<{ port: number }>(expectSuccess(await agent.run(["reach", name, "--json"]))).port;
}

async function statusOf(agent: Agent): Promise<StatusJson> {
  return parseJsonOutput<StatusJson>(expectSuccess(await agent.run(["status", "--json"])));
}

function agentLog(agent: Agent): string {
  try {
    return readFileSync(join(agent.configDir, "agent.log"), "utf8");
  } catch {
    return "";
  }
}

/** `size` bytes of a marker string repeated: easy to find in a recording, whatever the framing. */
function knownPlaintext(marker: string, size: number): Buffer {
  return Buffer.from(marker.repeat(Math.ceil(size / marker.length)).slice(0, size), "utf8");
}

/** An echo server that also keeps every byte it received, to prove what reached the service. */
async function startKeepingEchoServer(): Promise<TestServer & { received(): Buffer }> {
  const server = await startEchoServer();
  const chunks: Buffer[] = [];
  server.server.prependListener("connection", (socket: net.Socket) => {
    socket.on("data", (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  });
  return Object.assign(server, { received: () => Buffer.concat(chunks) });
}

/** Opens a connection through the reach, sends `payload`, and waits for the relay to close it. */
async function sendAndExpectClosed(port: number, payload: Buffer): Promise<{ bytes: number }> {
  const socket = await connectTcp(port);
  socket.on("error", () => {});
  socket.write(payload);
  const outcome = await waitForClose(socket, 20_000);
  return { bytes: outcome.bytes };
}

/** The RST frames an agent sent the hub (as the proxy recorded them), decoded. */
function resetsSentBy(proxy: HostileHub, label: string): { streamId: number; code: number; reason: string }[] {
  return proxy
    .recordedFrames()
    .filter((f: RecordedFrame) => f.label === label && f.direction === "toHub" && f.type === FrameType.RST)
    .map((f) => ({ streamId: f.streamId, ...decodeReset(f.payload) }));
}

function reachOf(status: StatusJson, service: string): StatusJson["reaches"][number] {
  const found = status.reaches.find((r) => r.service === service);
  if (found === undefined) throw new Error(`no reach of ${service} in ${JSON.stringify(status.reaches)}`);
  return found;
}

function exposureOf(status: StatusJson, service: string): StatusJson["exposures"][number] {
  const found = status.exposures.find((e) => e.name === service);
  if (found === undefined) throw new Error(`no exposure ${service} in ${JSON.stringify(status.exposures)}`);
  return found;
}

describe("end-to-end encryption through a hostile hub", () => {
  it(
    "keeps a known plaintext out of every relayed byte both ways under the default policy, and says so in connect status",
    async () => {
      const { proxy, exposer, reacher } = await startScenario("blind", { isRecording: true });
      const echo = await startEchoServer();
      await expose(exposer, echo, "vault");
      const port = await reach(reacher, "vault");
      const marker = `known-plaintext-${randomBytes(6).toString("hex")}|`;
      const payload = knownPlaintext(marker, MiB);

      const reply = await roundTrip(port, payload, 30_000);
      expect(sha256Hex(reply)).toBe(sha256Hex(payload));

      const toHub = proxy.recordedBytes("toHub");
      const fromHub = proxy.recordedBytes("fromHub");
      // The megabyte went through the proxy both ways (as ciphertext), or the search below means nothing.
      expect(toHub.length).toBeGreaterThan(2 * MiB);
      expect(fromHub.length).toBeGreaterThan(2 * MiB);
      expect(toHub.includes(Buffer.from(marker))).toBe(false);
      expect(fromHub.includes(Buffer.from(marker))).toBe(false);

      expect(reachOf(await statusOf(reacher), "vault").security?.isEndToEnd).toBe(true);
      expect(exposureOf(await statusOf(exposer), "vault").security?.isEndToEnd).toBe(true);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "shows that same plaintext in the recording with --e2e off (the recorder sees what it is given)",
    async () => {
      const { proxy, exposer, reacher } = await startScenario("plain", { isRecording: true });
      const echo = await startEchoServer();
      await expose(exposer, echo, "open", "off");
      const port = await reach(reacher, "open");
      const marker = `known-plaintext-${randomBytes(6).toString("hex")}|`;
      const payload = knownPlaintext(marker, MiB);

      const reply = await roundTrip(port, payload, 30_000);
      expect(sha256Hex(reply)).toBe(sha256Hex(payload));

      expect(proxy.recordedBytes("toHub").includes(Buffer.from(marker))).toBe(true);
      expect(proxy.recordedBytes("fromHub").includes(Buffer.from(marker))).toBe(true);
      expect(reachOf(await statusOf(reacher), "open").security?.isEndToEnd).toBe(false);
      expect(exposureOf(await statusOf(exposer), "open").security?.isEndToEnd).toBe(false);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "refuses a stream when the hub swaps a pinned key, records the changed key and audits e2e.peer_key_changed",
    async () => {
      const { proxy, exposer, reacher } = await startScenario("swap");
      const echo = await startKeepingEchoServer();
      await expose(exposer, echo, "ledger");
      let port = await reach(reacher, "ledger");
      const first = randomBytes(16 * KiB);
      expect(await roundTrip(port, first, 20_000)).toEqual(first);
      const exposerId = (await statusOf(exposer)).agent.id;
      expect(exposerId).toBeDefined();
      const knownAgentsPath = join(reacher.configDir, "known-agents.json");
      const pinned = await waitFor(
        () => JSON.parse(readFileSync(knownAgentsPath, "utf8")).agents[exposerId as string]?.publicKey as string | undefined,
        { what: "the reacher to pin the exposing agent's key" },
      );

      // From now on the hub names its own key for the exposing agent; a new reach asks it again.
      const impostor = makeImpostorKey();
      proxy.swapResolvedKey(impostor);
      expectSuccess(await reacher.run(["reach", "--stop", "ledger"]));
      port = await reach(reacher, "ledger");
      expect(proxy.rewrittenResolves).toBeGreaterThan(0);
      const receivedBefore = echo.received().length;
      const connectionsBefore = echo.connections;

      const outcome = await sendAndExpectClosed(port, Buffer.from("secret after the swap"));
      expect(outcome.bytes).toBe(0);
      expect(echo.connections).toBe(connectionsBefore);
      expect(echo.received().length).toBe(receivedBefore);

      const record = await waitFor(
        () => {
          const entry = JSON.parse(readFileSync(knownAgentsPath, "utf8")).agents[exposerId as string];
          return entry?.changedKey ? entry : undefined;
        },
        { what: "known-agents.json to record the changed key" },
      );
      expect(record.publicKey).toBe(pinned);
      expect(record.changedKey.publicKey).toBe(impostor);

      const audited = await waitFor(
        async () => {
          const events = parseJsonOutput<{ type: string; action: string; data: Record<string, unknown> }[]>(
            expectSuccess(await reacher.run(["audit", "--json"])),
          );
          return events.find((e) => e.type === "e2e" && e.action === "peer_key_changed");
        },
        { timeoutMs: 15_000, intervalMs: 500, what: "an e2e.peer_key_changed audit event" },
      );
      expect(JSON.stringify(audited.data)).toContain(exposerId as string);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "fails the handshake on first contact through a key-swapping hub under --e2e required: nothing reaches the service",
    async () => {
      const { proxy, exposer, reacher } = await startScenario("first-contact", { isRecording: true });
      proxy.swapResolvedKey(makeImpostorKey());
      const echo = await startKeepingEchoServer();
      await expose(exposer, echo, "payroll", "required");
      const port = await reach(reacher, "payroll");
      expect(proxy.rewrittenResolves).toBeGreaterThan(0);

      const outcome = await sendAndExpectClosed(port, Buffer.from("first words to an impostor"));
      expect(outcome.bytes).toBe(0);
      expect(echo.connections).toBe(0);
      expect(echo.received().length).toBe(0);
      // The exposing agent itself refused: the first message was not made for its key.
      const resets = await waitFor(
        () =>
          resetsSentBy(proxy, `first-contact-exposer`)
            .filter((r) => r.streamId > 0)
            .at(0),
        {
          what: "the exposing agent's RST",
        },
      );
      expect(resets.code).toBe(ResetCode.E2E_FAILED);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "refuses a stream whose handshake the hub strips, or when it hides the e2e feature, under --e2e required",
    async () => {
      const { proxy, exposer, reacher } = await startScenario("strip", { isRecording: true });
      const echo = await startKeepingEchoServer();
      await expose(exposer, echo, "secrets", "required");
      const port = await reach(reacher, "secrets");

      // The handshake is cut from the OPEN on its way; the welcome still said the hub relays it.
      proxy.stripEndToEnd(true);
      const stripped = await sendAndExpectClosed(port, Buffer.from("plaintext if anyone lets it through"));
      expect(stripped.bytes).toBe(0);
      const open = proxy.recordedFrames().find((f) => f.type === FrameType.OPEN && f.direction === "toHub");
      expect(open === undefined ? undefined : decodeOpen(open.payload).e2e).toBeDefined();
      const afterStrip = await waitFor(async () => reachOf(await statusOf(reacher), "secrets").lastFailure?.reason, {
        what: "the reach's last failure",
      });
      expect(afterStrip).toMatch(/requires end-to-end encryption/);

      // Then every welcome hides the feature: the reaching agent refuses before sending anything.
      proxy.dropConnections();
      await waitFor(async () => (await statusOf(reacher)).hub.relaysEndToEnd === false, {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: "the reacher to reconnect to a hub without the e2e feature",
      });
      await waitFor(async () => (await statusOf(exposer)).hub.relaysEndToEnd === false, {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: "the exposer to reconnect",
      });
      const hidden = await sendAndExpectClosed(port, Buffer.from("plaintext again"));
      expect(hidden.bytes).toBe(0);
      const afterHide = await waitFor(
        async () => {
          const reason = reachOf(await statusOf(reacher), "secrets").lastFailure?.reason;
          return reason?.includes("does not relay") ? reason : undefined;
        },
        { what: "the reach's refusal for a hub without e2e" },
      );
      expect(afterHide).toMatch(/requires end-to-end encryption/);
      expect(agentLog(reacher)).toMatch(/requires end-to-end encryption/);
      expect(echo.connections).toBe(0);
      expect(echo.received().length).toBe(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "never falls back to plaintext under the default policy once the peers were end to end, whatever the hub strips",
    async () => {
      const { proxy, exposer, reacher } = await startScenario("downgrade");
      const echo = await startKeepingEchoServer();
      await expose(exposer, echo, "wiki");
      const port = await reach(reacher, "wiki");
      const first = randomBytes(8 * KiB);
      expect(await roundTrip(port, first, 20_000)).toEqual(first);
      const receivedBefore = echo.received().length;

      proxy.stripEndToEnd(true);
      const stripped = await sendAndExpectClosed(port, Buffer.from("downgraded bytes"));
      expect(stripped.bytes).toBe(0);
      expect(echo.received().length).toBe(receivedBefore);

      proxy.dropConnections();
      await waitFor(async () => (await statusOf(reacher)).hub.relaysEndToEnd === false, {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: "the reacher to reconnect to a hub without the e2e feature",
      });
      const hidden = await sendAndExpectClosed(port, Buffer.from("downgraded again"));
      expect(hidden.bytes).toBe(0);
      expect(echo.received().length).toBe(receivedBefore);
      const reason = await waitFor(async () => reachOf(await statusOf(reacher), "wiki").lastFailure?.reason, {
        what: "the reach's last failure",
      });
      expect(reason).toMatch(/reached end to end before|encrypted its streams before/);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "resets a stream when one byte of one ciphertext DATA frame is flipped, either way, and no altered plaintext is delivered",
    async () => {
      const { proxy, exposer, reacher } = await startScenario("tamper", { isRecording: true });
      const echo = await startKeepingEchoServer();
      await expose(exposer, echo, "orders");
      const port = await reach(reacher, "orders");

      // Toward the service: the exposing agent must not open the altered record.
      const flippedToService = proxy.flipNextDataByte(reacher.label);
      const outgoing = await sendAndExpectClosed(port, randomBytes(32 * KiB));
      await flippedToService;
      expect(outgoing.bytes).toBe(0);
      expect(echo.received().length).toBe(0);
      const exposerReset = await waitFor(() => resetsSentBy(proxy, exposer.label).at(0), { what: "the exposing agent's RST" });
      expect(exposerReset.code).toBe(ResetCode.E2E_FAILED);

      // Toward the client: the reaching agent must not hand the altered echo to the client.
      const flippedToClient = proxy.flipNextDataByte(exposer.label);
      const payload = randomBytes(32 * KiB);
      const incoming = await sendAndExpectClosed(port, payload);
      await flippedToClient;
      expect(incoming.bytes).toBe(0);
      expect(echo.received()).toEqual(payload);
      const reacherReset = await waitFor(() => resetsSentBy(proxy, reacher.label).find((r) => r.code === ResetCode.E2E_FAILED), {
        what: "the reaching agent's E2E_FAILED RST",
      });
      expect(reacherReset.reason).toMatch(/end-to-end/i);
      const failure = await waitFor(async () => reachOf(await statusOf(reacher), "orders").lastFailure?.reason, {
        what: "the reach's last failure",
      });
      expect(failure).toMatch(/end-to-end/i);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "gives a replayed end-to-end stream nothing: the exposing agent resets it and the service gets no second copy",
    async () => {
      const { proxy, exposer, reacher } = await startScenario("replay", { isRecording: true });
      const echo = await startKeepingEchoServer();
      await expose(exposer, echo, "billing");
      const port = await reach(reacher, "billing");
      const payload = randomBytes(32 * KiB);
      expect(await roundTrip(port, payload, 20_000)).toEqual(payload);
      expect(echo.received()).toEqual(payload);

      const open = proxy
        .recordedFrames()
        .find((f) => f.label === exposer.label && f.direction === "fromHub" && f.type === FrameType.OPEN);
      expect(open).toBeDefined();
      if (open === undefined) return;
      expect(decodeOpen(open.payload).e2e).toBeDefined();

      const replayed = proxy.replayStream(exposer.label, open.streamId);
      const settled = await replayed.settled;
      expect(settled?.type, JSON.stringify(replayed.replies.map((f) => f.type))).toBe(FrameType.RST);
      if (settled === null) return;
      expect(decodeReset(settled.payload).code).toBe(ResetCode.E2E_FAILED);
      // Whatever the exposing agent dialed for the replay is closed again, and got nothing.
      await waitFor(() => echo.sockets.size === 0, { what: "the service's connections to close" });
      expect(echo.received()).toEqual(payload);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "carries 50 concurrent end-to-end streams, each with its own bytes intact",
    async () => {
      const { exposer, reacher } = await startScenario("fifty");
      const echo = await startEchoServer();
      await expose(exposer, echo, "bulk");
      const port = await reach(reacher, "bulk");
      const payloads = Array.from({ length: 50 }, () => randomBytes(randomInt(128 * KiB, 512 * KiB)));
      const replies = await Promise.all(payloads.map((payload) => roundTrip(port, payload, 60_000)));
      const mismatches = replies
        .map((reply, i) => ({ i, got: sha256Hex(reply), want: sha256Hex(payloads[i] as Buffer) }))
        .filter(({ got, want }) => got !== want);
      expect(mismatches).toEqual([]);
      expect(echo.connections).toBe(50);
      expect(reachOf(await statusOf(reacher), "bulk").security?.isEndToEnd).toBe(true);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
