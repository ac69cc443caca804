// The workspace key (issue 19: "no trust in the hub at all"). An owner makes it on a machine of
// their own with the real CLI, signs each agent's request, and the agents install their
// certificates; then the hostile proxy of tests/support/hostile-hub.ts attacks as a compromised
// hub would on the very first stream, where pins alone cannot help: it hands out a key of its own
// for the exposing agent and answers the handshake itself.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ResetCode } from "@private-connect/protocol";
import { describe, expect, it } from "vitest";
import {
  expose,
  exposureOf,
  KiB,
  reach,
  reachOf,
  resetsSentBy,
  SCENARIO_TIMEOUT_MS,
  type Scenario,
  sendAndExpectClosed,
  startKeepingEchoServer,
  startScenario,
  statusOf,
} from "../support/e2e-scenario.ts";
import { makeImpostorKeyPair } from "../support/hostile-hub.ts";
import { connectTcp, roundTrip, waitFor } from "../support/net.ts";
import { type Agent, connect, expectSuccess, makeTempDir, parseJsonOutput, startAgent } from "../support/processes.ts";

interface AuditEvent {
  type: string;
  action: string;
  data: Record<string, unknown>;
}

/** The owner's machine: a config directory of its own (no agent), holding the workspace key. */
async function createOwnerKey(): Promise<{ run(args: string[]): ReturnType<typeof connect>; workspaceKey: string }> {
  const configDir = join(await makeTempDir("owner"), "config");
  const run = (args: string[]) => connect(args, { configDir });
  const created = parseJsonOutput<{ workspaceKey: string; keyFile: string }>(
    expectSuccess(await run(["workspace-key", "create", "--json"])),
  );
  expect(created.keyFile).toBe(join(configDir, "workspace-signing-key.json"));
  expect(created.workspaceKey).toMatch(/^pcwk_/);
  // Never twice: the key every certificate depends on is not replaced by a second create.
  const again = await run(["workspace-key", "create"]);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toMatch(/already holds a workspace key/);
  return { run, workspaceKey: created.workspaceKey };
}

/** request on the agent, sign on the owner's machine, install on the agent: the whole path a person takes. */
async function certify(owner: Awaited<ReturnType<typeof createOwnerKey>>, agent: Agent): Promise<string> {
  const { request } = parseJsonOutput<{ request: string }>(
    expectSuccess(await agent.run(["workspace-key", "request", "--json"])),
  );
  const { certificate } = parseJsonOutput<{ certificate: string }>(
    expectSuccess(await owner.run(["workspace-key", "sign", request, "--json"])),
  );
  const installed = parseJsonOutput<{ workspaceKey: string }>(
    expectSuccess(await agent.run(["workspace-key", "install", certificate, "--json"])),
  );
  expect(installed.workspaceKey).toBe(owner.workspaceKey);
  return certificate;
}

async function auditOf(agent: Agent): Promise<AuditEvent[]> {
  return parseJsonOutput<AuditEvent[]>(expectSuccess(await agent.run(["audit", "--json"])));
}

async function waitForAudit(agent: Agent, action: string): Promise<AuditEvent> {
  return waitFor(async () => (await auditOf(agent)).find((event) => event.type === "e2e" && event.action === action), {
    timeoutMs: 15_000,
    intervalMs: 500,
    what: `an e2e.${action} audit event`,
  });
}

/** A hub that hands out its own key for every exposing agent and answers their handshakes itself. */
function impersonateEveryExposer(scenario: Scenario): void {
  const impostor = makeImpostorKeyPair();
  scenario.proxy.swapResolvedKey(impostor.publicKey);
  scenario.proxy.impersonateExposers(impostor.pair);
}

describe("a workspace key held on an owner's machine", () => {
  it(
    "lets certified agents reach each other end to end, and refuses an uncertified agent of the same workspace, audited",
    async () => {
      const scenario = await startScenario("certified", { isRecording: true });
      const { exposer, reacher } = scenario;
      const owner = await createOwnerKey();
      await certify(owner, exposer);
      const reacherCertificate = await certify(owner, reacher);
      // A certificate is one agent's: the reacher's is refused on the exposer, a cut one anywhere.
      const misplaced = await exposer.run(["workspace-key", "install", reacherCertificate]);
      expect(misplaced.code).not.toBe(0);
      expect(misplaced.stderr).toMatch(/not this agent's: it is for agent certified-reacher/);
      const cut = await exposer.run(["workspace-key", "install", reacherCertificate.slice(0, 80)]);
      expect(cut.stderr).toMatch(/That is not a certificate/);
      const echo = await startKeepingEchoServer();
      await expose(exposer, echo, "vault");
      const port = await reach(reacher, "vault");
      const payload = randomBytes(64 * KiB);
      expect(await roundTrip(port, payload, 20_000)).toEqual(payload);

      const reacherStatus = await statusOf(reacher);
      expect(reacherStatus.workspaceCertificate?.workspaceKey).toBe(owner.workspaceKey);
      expect(reachOf(reacherStatus, "vault").security).toMatchObject({ isEndToEnd: true, peer: { isCertified: true } });
      expect(exposureOf(await statusOf(exposer), "vault").security).toMatchObject({
        isEndToEnd: true,
        peer: { isCertified: true },
      });
      const human = expectSuccess(await reacher.run(["status"])).stdout;
      expect(human).toContain(`Certified  by workspace key ${owner.workspaceKey}`);
      expect(human).toContain("key certified by the workspace key");

      // A third agent of the workspace, never certified: the exposing agent refuses it, nothing is dialed.
      const { apiKey } = scenario;
      const stray = await startAgent({ hub: scenario.proxy, apiKey, label: "certified-stray" });
      try {
        const connectionsBefore = echo.connections;
        const strayPort = await reach(stray, "vault");
        const outcome = await sendAndExpectClosed(strayPort, Buffer.from("an uncertified agent's bytes"));
        expect(outcome.bytes).toBe(0);
        expect(echo.received()).toEqual(payload);
        expect(echo.connections).toBe(connectionsBefore);
        const refused = await waitFor(
          () => resetsSentBy(scenario.proxy, exposer.label).find((r) => r.code === ResetCode.E2E_FAILED),
          { what: "the exposing agent's E2E_FAILED RST" },
        );
        expect(refused.reason).toMatch(/presented no workspace certificate/);
        const failure = await waitFor(async () => reachOf(await statusOf(stray), "vault").lastFailure?.reason, {
          what: "the stray reach's last failure",
        });
        expect(failure).toMatch(/presented no workspace certificate/);
        const audited = await waitForAudit(exposer, "peer_key_uncertified");
        expect(audited.data).toMatchObject({ peerAgentId: (await statusOf(stray)).agent.id, service: "vault" });
      } finally {
        await stray.down();
      }

      // Removing the certificate turns the requirement off again, on the next stream.
      expectSuccess(await exposer.run(["workspace-key", "remove"]));
      expect((await statusOf(exposer)).workspaceCertificate).toBeUndefined();
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "without it, a hub answering the first handshake with its own key reads the client's bytes (what pins alone allow)",
    async () => {
      const scenario = await startScenario("mitm-pins");
      impersonateEveryExposer(scenario);
      const echo = await startKeepingEchoServer();
      await expose(scenario.exposer, echo, "ledger");
      const port = await reach(scenario.reacher, "ledger");
      const marker = `first-contact-secret-${randomBytes(6).toString("hex")}`;
      const socket = await connectTcp(port);
      socket.on("error", () => {});
      socket.write(marker);
      try {
        await waitFor(() => scenario.proxy.stolenPlaintext().includes(marker), {
          what: "the impersonating proxy to decrypt the client's first bytes",
        });
      } finally {
        socket.destroy();
      }
      expect(echo.connections).toBe(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "with it, the same hub is refused on the very first stream: the reaching agent sends nothing and audits it",
    async () => {
      const scenario = await startScenario("mitm-certified", { isRecording: true });
      const owner = await createOwnerKey();
      await certify(owner, scenario.exposer);
      await certify(owner, scenario.reacher);
      impersonateEveryExposer(scenario);
      const echo = await startKeepingEchoServer();
      await expose(scenario.exposer, echo, "ledger");
      const port = await reach(scenario.reacher, "ledger");
      const marker = `first-contact-secret-${randomBytes(6).toString("hex")}`;

      const outcome = await sendAndExpectClosed(port, Buffer.from(marker));
      expect(outcome.bytes).toBe(0);
      expect(scenario.proxy.impersonatedOpens).toBeGreaterThan(0);
      expect(scenario.proxy.stolenPlaintext().length).toBe(0);
      expect(echo.connections).toBe(0);
      const failure = await waitFor(async () => reachOf(await statusOf(scenario.reacher), "ledger").lastFailure?.reason, {
        what: "the reach's last failure",
      });
      expect(failure).toMatch(/presented no workspace certificate/);
      await waitForAudit(scenario.reacher, "peer_key_uncertified");

      // The hub's other way in: "that agent has no key, preferred". A certified agent sends no plaintext.
      scenario.proxy.rewriteResolve((data) => ({ ...data, e2e: { policy: "off", publicKey: null } }));
      expectSuccess(await scenario.reacher.run(["reach", "--stop", "ledger"]));
      const again = await reach(scenario.reacher, "ledger");
      const downgraded = await sendAndExpectClosed(again, Buffer.from(marker));
      expect(downgraded.bytes).toBe(0);
      expect(echo.connections).toBe(0);
      expect(scenario.proxy.recordedBytes().includes(Buffer.from(marker))).toBe(false);
      const refusal = await waitFor(
        async () => {
          const reason = reachOf(await statusOf(scenario.reacher), "ledger").lastFailure?.reason;
          return reason?.includes("only end to end") ? reason : undefined;
        },
        { what: "the reach's refusal of plaintext" },
      );
      expect(refusal).toMatch(/workspace certificate/);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
