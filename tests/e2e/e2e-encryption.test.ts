// End-to-end encryption against a hostile hub (issue 19). The real built hub and agents run as
// usual, but the agents reach the hub through tests/support/hostile-hub.ts, a man in the middle
// that reads every relayed byte and, per test, lies in services.resolve, strips the handshake,
// alters a DATA frame or replays a recorded stream. Each test gets its own hub (its own
// database), its own proxy and agents, so none depends on what another pinned.
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeOpen, decodeReset, FrameType, ResetCode } from "@private-connect/protocol";
import { describe, expect, it } from "vitest";
import {
  agentLog,
  expose,
  exposureOf,
  KiB,
  knownPlaintext,
  MiB,
  reach,
  reachOf,
  resetsSentBy,
  SCENARIO_TIMEOUT_MS,
  sendAndExpectClosed,
  startKeepingEchoServer,
  startScenario,
  statusOf,
} from "../support/e2e-scenario.ts";
import { makeImpostorKey } from "../support/hostile-hub.ts";
import { roundTrip, sha256Hex, startEchoServer, waitFor } from "../support/net.ts";
import { expectSuccess, parseJsonOutput } from "../support/processes.ts";

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
