import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { encodeE2ePublicKey } from "@private-connect/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type KnownAgent, readKnownAgents, updateKnownAgents } from "../e2e/known-agents.js";
import { fingerprintPublicKey, formatSafetyNumberRows, safetyNumber } from "../e2e/safety-number.js";
import { type AgentStaticKey, loadOrCreateStaticKey } from "../e2e/static-key.js";
import { captureOutput } from "../test-support/capture-output.js";
import type { FakeHubAnswer, FakeHubCall } from "../test-support/fake-hub-server.js";
import { openRegisteredAgent, type RegisteredAgent } from "../test-support/registered-agent.js";
import Trust from "./trust.js";
import Verify from "./verify.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const LAPTOP_ID = "00000000-0000-4000-8000-00000000000a";
const SERVER_ID = "00000000-0000-4000-8000-00000000000b";
const CI_ID = "00000000-0000-4000-8000-00000000000c";
const CI_TWIN_ID = "00000000-0000-4000-8000-0000000000cc";
const WORKSPACE_ID = "00000000-0000-4000-8000-000000000001";
const CI_OLD_KEY = encodeE2ePublicKey(Buffer.alloc(32, 0x11));
const CI_NEW_KEY = encodeE2ePublicKey(Buffer.alloc(32, 0x22));

function answerReports(call: FakeHubCall): FakeHubAnswer | undefined {
  return call.procedure === "agents.reportPeerKey" ? { data: { isRecorded: true } } : undefined;
}

function pin(publicKey: string, label: string, extra: Partial<KnownAgent> = {}): KnownAgent {
  return { publicKey, label, workspaceId: WORKSPACE_ID, firstSeenAt: "2030-01-01T00:00:00.000Z", ...extra };
}

let laptop: RegisteredAgent;
let server: RegisteredAgent;
let laptopKey: AgentStaticKey;
let serverKey: AgentStaticKey;
let previousIsTty: boolean | undefined;

beforeEach(async () => {
  laptop = await openRegisteredAgent(answerReports, { agentId: LAPTOP_ID, label: "laptop" });
  server = await openRegisteredAgent(answerReports, { agentId: SERVER_ID, label: "server" });
  laptopKey = await loadOrCreateStaticKey(laptop.paths.e2eKey);
  serverKey = await loadOrCreateStaticKey(server.paths.e2eKey);
  // What each agent pinned on their first stream: the other's key; the laptop also met ci.
  await updateKnownAgents(laptop.paths.knownAgents, (known) => {
    known.agents[SERVER_ID] = pin(serverKey.publicKeyText, "server");
    known.agents[CI_ID] = pin(CI_OLD_KEY, "ci", {
      verifiedAt: "2030-01-02T00:00:00.000Z",
      changedKey: { publicKey: CI_NEW_KEY, seenAt: "2030-01-03T00:00:00.000Z", service: "builds" },
    });
  });
  await updateKnownAgents(server.paths.knownAgents, (known) => {
    known.agents[LAPTOP_ID] = pin(laptopKey.publicKeyText, "laptop");
  });
  // Prompts are asked only on a terminal; these tests are the non-interactive case, whatever runs them.
  previousIsTty = process.stdin.isTTY;
  Object.defineProperty(process.stdin, "isTTY", { value: false, configurable: true, writable: true });
});

afterEach(async () => {
  Object.defineProperty(process.stdin, "isTTY", { value: previousIsTty, configurable: true, writable: true });
  await laptop.close();
  await server.close();
});

function reports(agent: RegisteredAgent): FakeHubCall[] {
  return agent.hub.calls.filter((call) => call.procedure === "agents.reportPeerKey");
}

describe("connect trust --list", () => {
  it("lists each pinned agent with its key fingerprint, whether it was verified and a new key waiting", async () => {
    const result = await captureOutput(() => Trust.run(["--list", "--config", laptop.dir], ROOT));
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Label\s+Id\s+Key\s+Verified\s+New key waiting$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^ci\\s+${CI_ID}\\s+${fingerprintPublicKey(CI_OLD_KEY)}\\s+yes \\(2030-01-02T00:00:00.000Z\\)\\s+${fingerprintPublicKey(CI_NEW_KEY)} \\(seen 2030-01-03T00:00:00.000Z\\)$`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(`^server\\s+${SERVER_ID}\\s+${fingerprintPublicKey(serverKey.publicKeyText)}\\s+no\\s+-$`),
    );
    expect(result.stdout).toContain("accept the key with connect trust AGENT");
    expect(laptop.hub.calls).toEqual([]);
  });

  it("is what connect trust does without an agent, and gives the pins as JSON with --json", async () => {
    const result = await captureOutput(() => Trust.run(["--json", "--config", laptop.dir], ROOT));
    expect(result.exitCode).toBe(0);
    const entries = JSON.parse(result.stdout);
    expect(entries.map((entry: { agentId: string }) => entry.agentId)).toEqual([CI_ID, SERVER_ID]);
    expect(entries[0]).toMatchObject({
      label: "ci",
      publicKey: CI_OLD_KEY,
      verifiedAt: "2030-01-02T00:00:00.000Z",
      changedKey: { publicKey: CI_NEW_KEY, fingerprint: fingerprintPublicKey(CI_NEW_KEY), service: "builds" },
    });
    expect(entries[1]).toMatchObject({ label: "server", verifiedAt: null, changedKey: null });
  });

  it("says how agents get pinned when none is", async () => {
    const fresh = await openRegisteredAgent(answerReports);
    try {
      const result = await captureOutput(() => Trust.run(["--config", fresh.dir], ROOT));
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain("No agent is pinned yet: an agent is pinned the first time a stream runs end to end");
    } finally {
      await fresh.close();
    }
  });
});

describe("connect trust AGENT", () => {
  it("with --yes, pins the new key, clears the verification and the waiting key, and tells the hub", async () => {
    const result = await captureOutput(() => Trust.run(["ci", "--yes", "--config", laptop.dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`pinned key: ${fingerprintPublicKey(CI_OLD_KEY)}`);
    expect(result.stdout).toContain(`new key:    ${fingerprintPublicKey(CI_NEW_KEY)}`);
    // The number the person compares is the one for the key being accepted.
    const number = safetyNumber(
      { agentId: LAPTOP_ID, publicKey: laptopKey.publicKey },
      { agentId: CI_ID, publicKey: Buffer.alloc(32, 0x22) },
    );
    for (const row of formatSafetyNumberRows(number)) expect(result.stdout).toContain(row);
    expect(result.stdout).toContain(`Pinned the new key of agent ci (${CI_ID})`);

    const stored = (await readKnownAgents(laptop.paths.knownAgents)).agents[CI_ID];
    expect(stored).toEqual(pin(CI_NEW_KEY, "ci"));
    expect(reports(laptop)).toEqual([
      {
        procedure: "agents.reportPeerKey",
        input: { event: "trusted", peerAgentId: CI_ID, service: "builds", pinnedKey: CI_OLD_KEY, offeredKey: CI_NEW_KEY },
        authorization: `Bearer ${laptop.identity.token}`,
      },
    ]);
  });

  it("without --yes and with no terminal to ask on, refuses, says to pass --yes, and changes nothing", async () => {
    const before = await readFile(laptop.paths.knownAgents, "utf8");
    const result = await captureOutput(() => Trust.run([CI_ID, "--config", laptop.dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("stdin is not a terminal to ask on: pass --yes to accept the new key");
    expect(await readFile(laptop.paths.knownAgents, "utf8")).toBe(before);
    expect(laptop.hub.calls).toEqual([]);
  });

  it("keeps the new pin when the hub cannot be told, and warns that it was not", async () => {
    await laptop.hub.close();
    const result = await captureOutput(() => Trust.run(["ci", "--yes", "--json", "--config", laptop.dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/Warning: the hub's audit log was not told \(.+\); the change here stands/);
    expect(JSON.parse(result.stdout)).toMatchObject({ agentId: CI_ID, isTrusted: true, isReported: false });
    expect((await readKnownAgents(laptop.paths.knownAgents)).agents[CI_ID]?.publicKey).toBe(CI_NEW_KEY);
  });

  it("says there is nothing to accept when no other key was offered, and exits 0", async () => {
    const before = await readFile(laptop.paths.knownAgents, "utf8");
    const result = await captureOutput(() => Trust.run(["server", "--yes", "--config", laptop.dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Nothing to accept for agent server (${SERVER_ID})`);
    expect(await readFile(laptop.paths.knownAgents, "utf8")).toBe(before);
    expect(laptop.hub.calls).toEqual([]);
  });
});

describe("connect verify AGENT", () => {
  it("prints the same safety number on both machines, and says what to run on the other one", async () => {
    const onLaptop = await captureOutput(() => Verify.run(["server", "--config", laptop.dir], ROOT));
    const onServer = await captureOutput(() => Verify.run([LAPTOP_ID, "--json", "--config", server.dir], ROOT));
    expect(onLaptop.exitCode).toBe(0);
    expect(onServer.exitCode).toBe(0);
    const fromServer = JSON.parse(onServer.stdout);
    expect(fromServer).toMatchObject({ agentId: LAPTOP_ID, ownAgentId: SERVER_ID, verifiedAt: null, changedKey: null });
    expect(fromServer.safetyNumber).toMatch(/^\d{5}( \d{5}){11}$/);
    for (const row of formatSafetyNumberRows(fromServer.safetyNumber)) expect(onLaptop.stdout).toContain(`    ${row}\n`);
    expect(onLaptop.stdout).toContain(`On server, run connect verify ${LAPTOP_ID}`);
    expect(onLaptop.stdout).toContain(`Not verified yet: once the numbers match, run connect verify ${SERVER_ID} --confirm`);
    expect(laptop.hub.calls).toEqual([]);
  });

  it("prints a different number when the pinned key is not the peer's real one", async () => {
    const onServer = JSON.parse(
      (await captureOutput(() => Verify.run(["laptop", "--json", "--config", server.dir], ROOT))).stdout,
    );
    // A key the hub could have handed over instead of the laptop's.
    await updateKnownAgents(server.paths.knownAgents, (known) => {
      known.agents[LAPTOP_ID] = pin(encodeE2ePublicKey(Buffer.alloc(32, 0x33)), "laptop");
    });
    const forged = JSON.parse((await captureOutput(() => Verify.run(["laptop", "--json", "--config", server.dir], ROOT))).stdout);
    expect(forged.safetyNumber).not.toBe(onServer.safetyNumber);
  });

  it("with --confirm, marks the pin verified and tells the hub", async () => {
    const result = await captureOutput(() => Verify.run(["server", "--confirm", "--config", laptop.dir], ROOT));
    expect(result.exitCode).toBe(0);
    const stored = (await readKnownAgents(laptop.paths.knownAgents)).agents[SERVER_ID];
    expect(stored?.verifiedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(result.stdout).toContain(`Marked the key of server (${SERVER_ID}) verified at ${stored?.verifiedAt}`);
    expect(reports(laptop).map((call) => call.input)).toEqual([
      { event: "verified", peerAgentId: SERVER_ID, pinnedKey: serverKey.publicKeyText },
    ]);

    const listed = await captureOutput(() => Trust.run(["--list", "--config", laptop.dir], ROOT));
    expect(listed.stdout).toMatch(new RegExp(`^server\\s+${SERVER_ID}\\s+\\S+\\s+yes \\(`, "m"));
  });

  it("refuses --confirm while a new key is waiting, says to run connect trust first, and changes nothing", async () => {
    const before = await readFile(laptop.paths.knownAgents, "utf8");
    const result = await captureOutput(() => Verify.run(["ci", "--confirm", "--config", laptop.dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`run connect trust ${CI_ID} first`);
    expect(await readFile(laptop.paths.knownAgents, "utf8")).toBe(before);
    expect(laptop.hub.calls).toEqual([]);
  });
});

describe("naming a pinned agent", () => {
  it("an unknown one is an error naming the pinned agents and how an agent gets pinned", async () => {
    for (const run of [(argv: string[]) => Trust.run(argv, ROOT), (argv: string[]) => Verify.run(argv, ROOT)]) {
      const result = await captureOutput(() => run(["nobody", "--config", laptop.dir]));
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(
        "No end-to-end key is pinned for agent nobody: an agent is pinned the first time a stream runs end to end between it and this one",
      );
      expect(result.stderr).toContain(`Pinned: server (${SERVER_ID}), ci (${CI_ID})`);
    }
  });

  it("a label two pinned agents share is an error listing their ids, and nothing changes", async () => {
    await updateKnownAgents(laptop.paths.knownAgents, (known) => {
      known.agents[CI_TWIN_ID] = pin(encodeE2ePublicKey(Buffer.alloc(32, 0x44)), "ci");
    });
    const before = await readFile(laptop.paths.knownAgents, "utf8");
    for (const run of [
      () => Trust.run(["ci", "--yes", "--config", laptop.dir], ROOT),
      () => Verify.run(["ci", "--confirm", "--config", laptop.dir], ROOT),
    ]) {
      const result = await captureOutput(run);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`2 pinned agents are labelled ci: name one by its id (${CI_ID}, ${CI_TWIN_ID})`);
    }
    expect(await readFile(laptop.paths.knownAgents, "utf8")).toBe(before);
    expect(laptop.hub.calls).toEqual([]);
  });
});
