import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentIdentity } from "../config/identity.js";
import { createHubClient } from "../sdk/hub-client.js";
import { type FakeHubAnswer, type FakeHubServer, startFakeHubServer } from "../test-support/fake-hub-server.js";
import { checkToken } from "./token-check.js";

const NOW = new Date("2026-12-03T12:00:00.000Z");
const AGENT_ID = "00000000-0000-4000-8000-00000000000a";

function profile(overrides: Record<string, unknown> = {}) {
  return {
    agentId: AGENT_ID,
    label: "laptop",
    clientType: "cli",
    tokenExpiresAt: "2027-02-01T12:00:00.000Z",
    workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
    isProvisioned: false,
    isRotationPending: false,
    recentIpChanges: [],
    registeredAt: "2026-11-01T12:00:00.000Z",
    tokenMaxExpiresAt: "2027-11-01T12:00:00.000Z",
    ...overrides,
  };
}

let hub: FakeHubServer;
let answer: FakeHubAnswer;
let identity: AgentIdentity;

beforeEach(async () => {
  hub = await startFakeHubServer((call) => (call.procedure === "agents.me" ? answer : undefined));
  identity = {
    hubUrl: hub.url,
    agentId: AGENT_ID,
    token: "a".repeat(64),
    tokenExpiresAt: "2027-02-01T12:00:00.000Z",
    workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
    label: "laptop",
  };
});

afterEach(async () => {
  await hub.close();
});

function run(revocation?: { at: string; reason: string }) {
  return checkToken({ identity, client: createHubClient(hub.url, identity.token, { timeoutMs: 2000 }), revocation, now: NOW });
}

describe("checkToken", () => {
  it("passes a token the hub accepts, with its expiry and how to rotate it", async () => {
    answer = { data: profile() };
    const { check } = await run();
    expect(check).toEqual({
      name: "token",
      status: "pass",
      detail:
        "accepted by the hub, expires in 60 days (2027-02-01); rotate it within 7 days of the end with connect up --rotate-token",
    });
    expect(hub.calls.map((call) => call.authorization)).toEqual([`Bearer ${identity.token}`]);
  });

  it("warns inside the rotation window and gives the rotation as the fix", async () => {
    answer = { data: profile({ tokenExpiresAt: "2026-12-06T12:00:00.000Z" }) };
    const { check } = await run();
    expect(check).toEqual({
      name: "token",
      status: "warn",
      detail: "Agent token expires in 3 days: run connect up --rotate-token",
      fix: "run connect up --rotate-token",
    });
  });

  it("fails a token the hub refuses, saying to register again", async () => {
    answer = { error: { code: "UNAUTHORIZED", httpStatus: 401, message: "Invalid credentials" } };
    const { check } = await run();
    expect(check).toEqual({
      name: "token",
      status: "fail",
      detail: "The hub refused the agent token: Invalid credentials",
      fix: "register this machine again: connect up --api-key KEY, or connect login --hub URL",
    });
  });

  it("fails a revoked agent without sending its token", async () => {
    answer = { data: profile() };
    const { check } = await run({ at: "2026-12-01T00:00:00.000Z", reason: "Agent revoked by alice@acme.test" });
    expect(check.status).toBe("fail");
    expect(check.detail).toBe("This agent was revoked: Agent revoked by alice@acme.test");
    expect(hub.calls).toEqual([]);
  });

  it("is not checked when the hub does not answer", async () => {
    await hub.close();
    answer = { data: profile() };
    const { check } = await run();
    expect(check).toEqual({ name: "token", status: "skip", detail: "not checked: the hub did not answer" });
  });
});
