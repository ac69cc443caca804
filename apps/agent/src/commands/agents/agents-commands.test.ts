import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentIdentity } from "../../config/identity.js";
import type { ConfigPaths } from "../../config/paths.js";
import { createControlClient } from "../../daemon/control-client.js";
import { runDaemon } from "../../daemon/run-daemon.js";
import type { AgentListEntry } from "../../sdk/agents.js";
import type { HubClient } from "../../sdk/hub-client.js";
import { captureOutput } from "../../test-support/capture-output.js";
import type { FakeHubAnswer, FakeHubCall, FakeHubServer } from "../../test-support/fake-hub-server.js";
import { FakeTunnel } from "../../test-support/fake-tunnel.js";
import { openRegisteredAgent, type RegisteredAgent } from "../../test-support/registered-agent.js";
import { TunnelFatalError } from "../../tunnel/tunnel-client.js";
import Status from "../status.js";
import Up from "../up.js";
import AgentsList, { formatAgents } from "./list.js";
import AgentsRevoke from "./revoke.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const TOKEN = "a".repeat(64);
const OWN_ID = "00000000-0000-4000-8000-00000000000a";
const CI_ID = "00000000-0000-4000-8000-00000000000c";
const OLD_CI_ID = "00000000-0000-4000-8000-0000000000c0";

function agent(overrides: Partial<AgentListEntry>): AgentListEntry {
  return {
    agentId: OWN_ID,
    label: "laptop",
    clientType: "cli",
    online: true,
    lastSeenAt: "2030-01-31T09:15:02.123Z",
    lastIp: "10.0.x.x",
    tokenExpiresAt: "2030-03-01T00:00:00.000Z",
    isProvisioned: false,
    createdAt: "2030-01-01T00:00:00.000Z",
    recentIpChanges: [],
    createdBy: { type: "api_key", id: "00000000-0000-4000-8000-0000000000ee", name: "servers" },
    tokenMaxExpiresAt: "2031-01-01T00:00:00.000Z",
    ...overrides,
  };
}

const AGENTS: AgentListEntry[] = [
  agent({}),
  agent({
    agentId: CI_ID,
    label: "ci",
    online: false,
    lastIp: null,
    lastSeenAt: null,
    createdBy: { type: "provisioning_key", id: "00000000-0000-4000-8000-0000000000ef", name: "runners" },
    isProvisioned: true,
  }),
  agent({
    agentId: "00000000-0000-4000-8000-00000000000b",
    label: "build-box",
    online: false,
    createdBy: { type: "user", id: "00000000-0000-4000-8000-0000000000f0", name: "dev@acme.test" },
  }),
  agent({ agentId: OLD_CI_ID, label: "old", online: false, createdBy: { type: "unknown", id: null, name: null } }),
];

let dir: string;
let paths: ConfigPaths;
let hub: FakeHubServer;
let answer: (call: FakeHubCall) => FakeHubAnswer | undefined;

let registered: RegisteredAgent;

beforeEach(async () => {
  answer = () => undefined;
  registered = await openRegisteredAgent((call) => answer(call), {
    agentId: OWN_ID,
    token: TOKEN,
    tokenExpiresAt: "2030-03-01T00:00:00.000Z",
    workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
    label: "laptop",
  });
  ({ dir, hub, paths } = registered);
});

afterEach(async () => {
  await registered.close();
});

function listAndRevoke(call: FakeHubCall): FakeHubAnswer | undefined {
  if (call.procedure === "agents.list") return { data: AGENTS };
  if (call.procedure === "agents.revoke") {
    const { agentId } = call.input as { agentId: string };
    const found = AGENTS.find((entry) => entry.agentId === agentId);
    if (found === undefined) return { error: { code: "NOT_FOUND", httpStatus: 404, message: "Agent not found" } };
    return { data: { agentId, label: found.label, revokedAt: "2030-02-01T10:00:00.000Z" } };
  }
  return undefined;
}

describe("connect agents list", () => {
  it("shows who or what created each agent, its last use and masked address, and marks this machine", async () => {
    answer = listAndRevoke;
    const result = await captureOutput(() => AgentsList.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Label\s+Status\s+Created by\s+Last seen\s+Address\s+Token expires\s+Id$/);
    expect(lines[1]).toMatch(/^laptop \(this machine\)\s+online\s+key servers\s+now\s+10\.0\.x\.x\s+2030-03-01T00:00:00Z\s+/);
    expect(lines[2]).toMatch(/^ci\s+offline\s+provisioning key runners\s+never\s+-\s+/);
    expect(lines[3]).toMatch(/^build-box\s+offline\s+dev@acme\.test\s+2030-01-31T09:15:02Z\s+10\.0\.x\.x/);
    expect(lines[4]).toContain("unknown (before provenance was recorded)");
    // Sent as this machine's agent.
    expect(hub.calls.map((call) => [call.procedure, call.authorization])).toEqual([["agents.list", `Bearer ${TOKEN}`]]);
  });

  it("gives scripts the hub's fields with --json", async () => {
    answer = listAndRevoke;
    const result = await captureOutput(() => AgentsList.run(["--config", dir, "--json"], ROOT));
    expect(JSON.parse(result.stdout)).toEqual(AGENTS);
  });

  it("says how to start one when there are none", () => {
    expect(formatAgents([])).toBe("No agents in this workspace: start one with connect up --hub URL --api-key KEY");
  });
});

describe("connect agents revoke", () => {
  it("revokes by label: looks the id up, then revokes exactly that agent", async () => {
    answer = listAndRevoke;
    const result = await captureOutput(() => AgentsRevoke.run(["build-box", "--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      "Revoked agent build-box (00000000-0000-4000-8000-00000000000b) at 2030-02-01T10:00:00.000Z: its hub connection was closed and its token no longer works",
    );
    expect(hub.calls.map((call) => [call.procedure, call.input])).toEqual([
      ["agents.list", undefined],
      ["agents.revoke", { agentId: "00000000-0000-4000-8000-00000000000b" }],
    ]);
  });

  it("refuses a label two agents share, naming their ids, and revokes neither", async () => {
    answer = (call) =>
      call.procedure === "agents.list"
        ? { data: [...AGENTS, agent({ agentId: "00000000-0000-4000-8000-0000000000cc", label: "ci" })] }
        : undefined;
    const result = await captureOutput(() => AgentsRevoke.run(["ci", "--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `2 agents are labelled "ci": pass the id of the one to revoke (${CI_ID}, 00000000-0000-4000-8000-0000000000cc;`,
    );
    expect(hub.calls.map((call) => call.procedure)).toEqual(["agents.list"]);
  });

  it("says where to look when the label or id names no agent of the workspace", async () => {
    answer = listAndRevoke;
    const unknownLabel = await captureOutput(() => AgentsRevoke.run(["nope", "--config", dir], ROOT));
    expect(unknownLabel.exitCode).toBe(1);
    expect(unknownLabel.stderr).toContain('No agent labelled "nope" in this workspace: connect agents list shows its agents');
    // An id goes to the hub as it is: another workspace's agent is the hub's "not found" too.
    const otherWorkspace = await captureOutput(() =>
      AgentsRevoke.run(["00000000-0000-4000-8000-0000000000ff", "--config", dir, "--json"], ROOT),
    );
    expect(otherWorkspace.exitCode).toBe(1);
    expect(JSON.parse(otherWorkspace.stdout)).toEqual({
      error: { code: "AGENT_NOT_FOUND", message: "Agent not found: connect agents list shows this workspace's agents" },
    });
  });

  it("passes on who may revoke when the hub refuses", async () => {
    answer = (call) =>
      call.procedure === "agents.revoke"
        ? { error: { code: "FORBIDDEN", httpStatus: 403, message: "Only an owner of acme can revoke this agent" } }
        : undefined;
    const result = await captureOutput(() => AgentsRevoke.run([CI_ID, "--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("Only an owner of acme can revoke this agent");
  });

  it("after revoking this machine's own agent, never sends its token again", async () => {
    answer = listAndRevoke;
    const revoked = await captureOutput(() => AgentsRevoke.run([OWN_ID, "--config", dir], ROOT));
    expect(revoked.exitCode).toBe(0);
    expect(revoked.stdout).toContain("this machine's own agent: it stops now and its token no longer works");
    expect(JSON.parse(await readFile(paths.lastStop, "utf8"))).toMatchObject({ code: "agent_revoked", agentId: OWN_ID });
    hub.calls.length = 0;

    const up = await captureOutput(() => Up.run(["--config", dir], ROOT));
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain("This agent was revoked from this machine (connect agents revoke)");
    expect(up.stderr).toContain("register this machine again with connect up --api-key <key> or connect login --hub <url>");
    const list = await captureOutput(() => AgentsList.run(["--config", dir], ROOT));
    expect(list.exitCode).toBe(1);
    expect(list.stderr).toContain("This agent was revoked");
    expect(hub.calls).toEqual([]);
  });
});

describe("an agent the hub revoked", () => {
  const REASON = "This agent was revoked by an owner of acme: ask them to let you in again";

  it("records why it stopped, and connect status, up and the hub commands never send its token again", async () => {
    const identity = JSON.parse(await readFile(paths.identity, "utf8")) as AgentIdentity;
    const tunnels: FakeTunnel[] = [];
    const done = runDaemon({
      paths,
      identity,
      isInsecureAllowed: false,
      isHandlingSignals: false,
      log: () => {},
      // The profile refresh after connecting: not what this test is about.
      hubClient: { agents: { me: { query: () => new Promise(() => {}) } } } as unknown as HubClient,
      createTunnel: (options) => {
        const tunnel = new FakeTunnel(options);
        tunnels.push(tunnel);
        return tunnel;
      },
    });
    const control = createControlClient(paths.socket);
    let isUp = false;
    for (let attempt = 0; attempt < 250 && !isUp; attempt += 1) {
      isUp = await control.request("status", {}).then(
        () => true,
        () => false,
      );
      if (!isUp) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    tunnels[0]?.options.onFatal?.(new TunnelFatalError(REASON, "agent_revoked"));
    expect((await done).fatalError?.message).toBe(REASON);
    expect(JSON.parse(await readFile(paths.lastStop, "utf8"))).toMatchObject({
      reason: REASON,
      code: "agent_revoked",
      agentId: OWN_ID,
    });

    const status = await captureOutput(() => Status.run(["--config", dir], ROOT));
    expect(status.exitCode).toBe(1);
    expect(status.stderr).toMatch(new RegExp(`No agent is running for .*: the hub stopped it at \\S+: ${REASON}`));

    // A supervisor restarting connect up (or a person) gets the reason, and the hub gets nothing.
    const up = await captureOutput(() => Up.run(["--config", dir], ROOT));
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain(REASON);
    const rotate = await captureOutput(() => Up.run(["--config", dir, "--rotate-token"], ROOT));
    expect(rotate.exitCode).toBe(1);
    expect(rotate.stderr).toContain(REASON);
    expect(hub.calls).toEqual([]);

    // Registering again with a key is the way back: only the key travels, not the dead token.
    answer = (call) =>
      call.procedure === "agents.register"
        ? { error: { code: "UNAUTHORIZED", httpStatus: 401, message: "Invalid credentials: check your API key" } }
        : undefined;
    const again = await captureOutput(() => Up.run(["--config", dir, "--api-key", "pc_test"], ROOT));
    expect(again.stderr).toContain("Invalid credentials: check your API key");
    expect(hub.calls.map((call) => [call.procedure, call.authorization])).toEqual([["agents.register", "Bearer pc_test"]]);
  });

  it("learns of a revocation from the hub's refusal when it was not running, and stops sending the token", async () => {
    const refusal: FakeHubAnswer = {
      error: {
        code: "UNAUTHORIZED",
        httpStatus: 401,
        message: `${REASON.replace(": ask", " (the API key that registered it was revoked): ask")}`,
      },
    };
    answer = () => refusal;
    const up = await captureOutput(() => Up.run(["--config", dir], ROOT));
    expect(up.exitCode).toBe(1);
    expect(up.stderr).toContain("This agent was revoked by an owner of acme (the API key that registered it was revoked)");
    expect(hub.calls.map((call) => call.procedure)).toEqual(["agents.me"]);
    expect(JSON.parse(await readFile(paths.lastStop, "utf8"))).toMatchObject({ code: "agent_revoked", agentId: OWN_ID });

    const again = await captureOutput(() => Up.run(["--config", dir], ROOT));
    expect(again.exitCode).toBe(1);
    const list = await captureOutput(() => AgentsList.run(["--config", dir], ROOT));
    expect(list.stderr).toContain("This agent was revoked by an owner of acme");
    expect(hub.calls.map((call) => call.procedure)).toEqual(["agents.me"]);
  });

  it("does not take an ordinary refusal for a revocation", async () => {
    answer = () => ({ error: { code: "UNAUTHORIZED", httpStatus: 401, message: "Invalid credentials: check your API key" } });
    expect((await captureOutput(() => AgentsList.run(["--config", dir], ROOT))).exitCode).toBe(1);
    expect((await captureOutput(() => AgentsList.run(["--config", dir], ROOT))).exitCode).toBe(1);
    expect(hub.calls.map((call) => call.procedure)).toEqual(["agents.list", "agents.list"]);
  });
});
