import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPrincipal } from "../../deps.js";
import { type BareWorkspace, createBareWorkspace } from "../../test-support/bare-workspace.js";
import { type Harness, openHarness, testEngines } from "../../test-support/harness.js";
import { authenticateBearer } from "../auth/authenticate-bearer.js";
import { normalizeIp, recordAgentSeen } from "./record-agent-seen.js";

describe.each(testEngines)("recordAgentSeen on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspace: BareWorkspace;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    workspace = await createBareWorkspace(harness.db, "Roaming");
  });

  afterAll(async () => {
    await harness?.close();
  });

  async function registerAgent(label: string): Promise<{ principal: AgentPrincipal; token: string }> {
    const { token } = await (await harness.caller(workspace.apiKey)).agents.register({ label });
    const principal = await authenticateBearer(harness.deps, token);
    if (principal.kind !== "agent") throw new Error("expected an agent");
    return { principal, token };
  }

  it.skipIf(skip)("records a change when the same agent is seen from 127.0.0.2 after 127.0.0.1", async () => {
    const { principal, token } = await registerAgent("laptop");
    const first = new Date("2030-01-01T10:00:00.000Z");
    const second = new Date("2030-01-01T11:00:00.000Z");
    try {
      harness.setNow(first);
      expect(await recordAgentSeen(harness.deps, principal, { ip: "127.0.0.1" })).toEqual({});
      // Same address again, in its IPv4-mapped spelling: not a change.
      expect(await recordAgentSeen(harness.deps, principal, { ip: "::ffff:127.0.0.1" })).toEqual({});
      harness.setNow(second);
      expect(await recordAgentSeen(harness.deps, principal, { ip: "127.0.0.2" })).toEqual({
        ipChanged: { previousIp: "127.0.0.1", newIp: "127.0.0.2", at: second.toISOString() },
      });
      expect(await recordAgentSeen(harness.deps, principal, { ip: "127.0.0.2" })).toEqual({});
      // No address known: last seen moves, nothing is recorded.
      expect(await recordAgentSeen(harness.deps, principal, {})).toEqual({});
    } finally {
      harness.setNow(undefined);
    }
    const me = await (await harness.caller(token)).agents.me();
    expect(me.recentIpChanges).toEqual([{ previousIp: "127.0.0.1", newIp: "127.0.0.2", at: second.toISOString() }]);
    const row = await harness.db.withWorkspace(workspace.workspaceId, (tx) =>
      tx.agent.findFirst({ where: { id: principal.agentId }, select: { lastIp: true } }),
    );
    expect(row?.lastIp).toBe("127.0.0.2");
  });

  it.skipIf(skip)("lists the newest changes first and keeps them to the agent they belong to", async () => {
    const { principal, token } = await registerAgent("roamer");
    const { token: quietToken } = await registerAgent("quiet");
    const addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    for (const [index, ip] of addresses.entries()) {
      harness.setNow(new Date(Date.UTC(2030, 0, 2, index)));
      await recordAgentSeen(harness.deps, principal, { ip });
    }
    harness.setNow(undefined);
    const me = await (await harness.caller(token)).agents.me();
    expect(me.recentIpChanges.map((change) => change.newIp)).toEqual(["10.0.0.3", "10.0.0.2"]);
    expect((await (await harness.caller(quietToken)).agents.me()).recentIpChanges).toEqual([]);
  });

  it("normalizes addresses to one spelling", () => {
    expect(normalizeIp("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(normalizeIp("2001:DB8::1")).toBe("2001:db8::1");
    expect(normalizeIp("  ")).toBeUndefined();
    expect(normalizeIp(undefined)).toBeUndefined();
  });
});
