// Token usage in the audit log: an agent token authenticating a control-plane call (through the
// real tRPC context, as the hub's HTTP handler builds it) or a relay connection (the relay's
// lookup), at most once per ten minutes for the same agent, address and user agent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_TOKEN_EXPIRED } from "../../errors.js";
import { createCaller } from "../../root.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../../test-support/harness.js";
import { createContextInner } from "../../trpc.js";
import { authenticateBearer } from "../auth/authenticate-bearer.js";
import { TOKEN_USE_INTERVAL_MS } from "./record-token-use.js";

const CLI_AGENT = "node";
const RELAY_AGENT = "private-connect-agent/0.1.0";

describe.each(testEngines)("token usage in the audit log on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspace: { workspaceId: string; apiKey: string };

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    workspace = await harness.createTestWorkspace("Token use");
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** One control-plane request of this bearer from `ip` with `userAgent`, as the hub receives it. */
  async function callAs(bearer: string, ip: string | undefined, userAgent: string | undefined) {
    return createCaller(await createContextInner({ deps: harness.deps, bearer, ip, userAgent }));
  }

  async function usesOf(agentId: string) {
    return harness.db.withWorkspace(workspace.workspaceId, (tx) =>
      tx.auditEvent.findMany({
        where: { workspaceId: workspace.workspaceId, target: agentId, type: "token", action: "use" },
        orderBy: { occurredAt: "asc" },
        select: {
          occurredAt: true,
          actorType: true,
          actorId: true,
          clientType: true,
          ip: true,
          userAgent: true,
          data: true,
        },
      }),
    );
  }

  async function atTime<T>(now: Date, fn: () => Promise<T>): Promise<T> {
    harness.setNow(now);
    try {
      return await fn();
    } finally {
      harness.setNow(undefined);
    }
  }

  it.skipIf(skip)(
    "records an agent token's use with its agent, client type, IP and user agent, once per ten minutes",
    async () => {
      const { agentId, token } = await harness.registerTestAgent(workspace.apiKey, "busy-agent");
      const start = new Date(Math.floor(Date.now() / 1000) * 1000);
      const at = (minutes: number) => new Date(start.getTime() + minutes * 60_000);
      const use = { actorType: "agent", actorId: agentId, clientType: "cli" };
      const data = { agentId, label: "busy-agent", via: "api" };

      await atTime(at(0), async () => (await callAs(token, "::ffff:198.51.100.20", CLI_AGENT)).agents.me());
      // The same agent, address and client, many times within ten minutes: still one row.
      for (const minute of [1, 2, 5, 9.9]) {
        await atTime(at(minute), async () => (await callAs(token, "198.51.100.20", CLI_AGENT)).services.list());
      }
      expect(await usesOf(agentId)).toEqual([{ ...use, occurredAt: at(0), ip: "198.51.100.20", userAgent: CLI_AGENT, data }]);

      // Another address, or another client on the same address, is news at once.
      await atTime(at(3), async () => (await callAs(token, "203.0.113.50", CLI_AGENT)).agents.me());
      await atTime(at(4), async () => (await callAs(token, "198.51.100.20", "curl/8.5.0")).agents.me());
      // Ten minutes after the first row, the first place is written down again.
      await atTime(at(10), async () => (await callAs(token, "198.51.100.20", CLI_AGENT)).agents.me());
      expect(await usesOf(agentId)).toEqual([
        { ...use, occurredAt: at(0), ip: "198.51.100.20", userAgent: CLI_AGENT, data },
        { ...use, occurredAt: at(3), ip: "203.0.113.50", userAgent: CLI_AGENT, data },
        { ...use, occurredAt: at(4), ip: "198.51.100.20", userAgent: "curl/8.5.0", data },
        { ...use, occurredAt: at(10), ip: "198.51.100.20", userAgent: CLI_AGENT, data },
      ]);
      expect(TOKEN_USE_INTERVAL_MS).toBe(10 * 60_000);
    },
  );

  it.skipIf(skip)("records a relay connection's use as the relay looks the token up, with via: relay", async () => {
    const { agentId, token } = await harness.registerTestAgent(workspace.apiKey, "relay-agent");
    // What the hub's relay authority passes for each /relay upgrade (apps/hub api-authority.ts).
    await authenticateBearer(harness.deps, token, { ip: "192.0.2.10", userAgent: RELAY_AGENT, via: "relay" });
    await authenticateBearer(harness.deps, token, { ip: "192.0.2.10", userAgent: RELAY_AGENT, via: "relay" });
    // Internal lookups (no request behind them) record nothing.
    await authenticateBearer(harness.deps, token);
    expect(await usesOf(agentId)).toEqual([
      expect.objectContaining({
        actorId: agentId,
        ip: "192.0.2.10",
        userAgent: RELAY_AGENT,
        data: { agentId, label: "relay-agent", via: "relay" },
      }),
    ]);
  });

  it.skipIf(skip)("writes one row for a burst of concurrent requests of one agent", async () => {
    const { agentId, token } = await harness.registerTestAgent(workspace.apiKey, "bursty");
    await Promise.all(Array.from({ length: 8 }, async () => (await callAs(token, "198.51.100.30", CLI_AGENT)).services.list()));
    expect(await usesOf(agentId)).toHaveLength(1);
  });

  it.skipIf(skip)("records no use for an expired or unknown token, nor for API keys", async () => {
    const provisioned = await (await harness.caller(workspace.apiKey)).agents.register({ label: "short-lived" });
    const later = new Date(Date.parse(provisioned.tokenExpiresAt) + 1_000);
    await expectAppError(
      atTime(later, async () => (await callAs(provisioned.token, "198.51.100.40", CLI_AGENT)).agents.me()),
      "TOKEN_EXPIRED",
      AGENT_TOKEN_EXPIRED,
    );
    await expectAppError(
      (async () => (await callAs("f".repeat(64), "198.51.100.40", CLI_AGENT)).agents.me())(),
      "UNAUTHORIZED",
      /Invalid credentials/,
    );
    await (await callAs(workspace.apiKey, "198.51.100.40", CLI_AGENT)).services.list();
    const uses = await harness.db.withWorkspace(workspace.workspaceId, (tx) =>
      tx.auditEvent.findMany({ where: { type: "token", action: "use", ip: "198.51.100.40" }, select: { id: true } }),
    );
    expect(uses).toEqual([]);
    expect(await usesOf(provisioned.agentId)).toEqual([]);
  });

  it.skipIf(skip)("keeps a long user agent within the column and never fails the request for it", async () => {
    const { agentId, token } = await harness.registerTestAgent(workspace.apiKey, "long-ua");
    const longAgent = `agent/${"x".repeat(2_000)}`;
    expect((await (await callAs(token, "198.51.100.50", longAgent)).agents.me()).agentId).toBe(agentId);
    const [row] = await usesOf(agentId);
    expect(row?.userAgent).toBe(longAgent.slice(0, 512));
  });
});
