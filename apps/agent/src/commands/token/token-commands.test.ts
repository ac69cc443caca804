import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentIdentity } from "../../config/identity.js";
import type { ConfigPaths } from "../../config/paths.js";
import { writeLastStop } from "../../daemon/last-stop.js";
import { captureOutput } from "../../test-support/capture-output.js";
import type { FakeHubAnswer, FakeHubCall, FakeHubServer } from "../../test-support/fake-hub-server.js";
import { openRegisteredAgent, type RegisteredAgent } from "../../test-support/registered-agent.js";
import Up from "../up.js";
import TokenRotate from "./rotate.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const AGENT_ID = "00000000-0000-4000-8000-00000000000a";
const OLD = "1".repeat(64);
const NEW = "2".repeat(64);
const NEWER = "3".repeat(64);

let dir: string;
let paths: ConfigPaths;
let hub: FakeHubServer;
/** The token the fake hub hands out next. */
let nextToken: string;

function answer(call: FakeHubCall): FakeHubAnswer | undefined {
  if (call.procedure === "agents.me") {
    return {
      data: {
        agentId: AGENT_ID,
        label: "server",
        clientType: "cli",
        tokenExpiresAt: "2030-01-03T00:00:00.000Z",
        workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
        isProvisioned: false,
        isRotationPending: false,
        recentIpChanges: [],
        registeredAt: "2030-01-01T00:00:00.000Z",
        tokenMaxExpiresAt: "2031-01-01T00:00:00.000Z",
      },
    };
  }
  if (call.procedure === "agents.rotateToken") return { data: { token: nextToken, tokenExpiresAt: "2030-02-01T00:00:00.000Z" } };
  if (call.procedure === "agents.confirmRotation") return { data: { tokenExpiresAt: "2030-02-01T00:00:00.000Z" } };
  return undefined;
}

let registered: RegisteredAgent;

beforeEach(async () => {
  registered = await openRegisteredAgent(answer, {
    agentId: AGENT_ID,
    token: OLD,
    tokenExpiresAt: "2030-01-03T00:00:00.000Z",
    workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
    label: "server",
  });
  ({ dir, hub, paths } = registered);
});

afterEach(async () => {
  await registered.close();
});

async function savedToken(): Promise<string> {
  return (JSON.parse(await readFile(paths.identity, "utf8")) as AgentIdentity).token;
}

describe("connect token rotate", () => {
  it("rotates the saved identity's token when no agent runs: new token saved, then confirmed with it", async () => {
    nextToken = NEW;
    const result = await captureOutput(() => TokenRotate.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`Rotated the agent token for ${dir}: the new token expires 2030-02-01T00:00:00.000Z\n`);
    expect(await savedToken()).toBe(NEW);
    expect(hub.calls.map((call) => [call.procedure, call.authorization])).toEqual([
      ["agents.me", `Bearer ${OLD}`],
      ["agents.rotateToken", `Bearer ${OLD}`],
      ["agents.confirmRotation", `Bearer ${NEW}`],
    ]);
  });

  it("gives scripts what happened with --json, never the token", async () => {
    nextToken = NEW;
    const result = await captureOutput(() => TokenRotate.run(["--config", dir, "--json"], ROOT));
    expect(JSON.parse(result.stdout)).toEqual({
      tokenExpiresAt: "2030-02-01T00:00:00.000Z",
      isResumed: false,
      isRunningAgent: false,
    });
    expect(result.stdout).not.toContain(NEW);
  });

  it("is the same rotation as connect up --rotate-token, which keeps working", async () => {
    nextToken = NEW;
    const viaTopic = await captureOutput(() => TokenRotate.run(["--config", dir], ROOT));
    nextToken = NEWER;
    const viaUp = await captureOutput(() => Up.run(["--rotate-token", "--config", dir], ROOT));
    expect(viaUp.exitCode).toBe(0);
    expect(viaUp.stdout).toBe(viaTopic.stdout);
    expect(await savedToken()).toBe(NEWER);
    expect(hub.calls.map((call) => call.authorization)).toEqual([
      `Bearer ${OLD}`,
      `Bearer ${OLD}`,
      `Bearer ${NEW}`,
      `Bearer ${NEW}`,
      `Bearer ${NEW}`,
      `Bearer ${NEWER}`,
    ]);
  });

  it("says how to register when there is no agent, and never sends a revoked agent's token", async () => {
    const empty = await mkdtemp(join(tmpdir(), "pc-token-empty-"));
    try {
      const none = await captureOutput(() => TokenRotate.run(["--config", empty], ROOT));
      expect(none.exitCode).toBe(1);
      expect(none.stderr).toContain(`No agent is registered in ${empty}, so there is no token to rotate`);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    await writeLastStop(paths.lastStop, {
      at: "2030-01-02T00:00:00.000Z",
      reason: "This agent was revoked by an owner of acme: ask them to let you in again",
      code: "agent_revoked",
      agentId: AGENT_ID,
    });
    const revoked = await captureOutput(() => TokenRotate.run(["--config", dir], ROOT));
    expect(revoked.exitCode).toBe(1);
    expect(revoked.stderr).toContain("This agent was revoked by an owner of acme");
    expect(hub.calls).toEqual([]);
    expect(await savedToken()).toBe(OLD);
  });
});
