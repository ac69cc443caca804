// The audit log's foundation: each event produced by the real action that causes it (never
// inserted by hand here), append-only for the runtime role, and visible to its workspace only.
import { inspectTenantTables } from "@private-connect/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPrincipal, ApiKeyPrincipal } from "../../deps.js";
import { type BareWorkspace, createBareWorkspace } from "../../test-support/bare-workspace.js";
import { type Harness, openHarness, testEngines } from "../../test-support/harness.js";
import { provisionAgent } from "../agents/provision-agent.js";
import { recordAgentDisconnected } from "../agents/record-agent-disconnected.js";
import { recordAgentSeen } from "../agents/record-agent-seen.js";
import { authenticateBearer } from "../auth/authenticate-bearer.js";
import { recordAuditEvent } from "./record-audit-event.js";

const auditEventSelect = {
  workspaceId: true,
  occurredAt: true,
  type: true,
  action: true,
  actorType: true,
  actorId: true,
  clientType: true,
  target: true,
  reason: true,
  ip: true,
  userAgent: true,
  data: true,
} as const;

describe.each(testEngines)("audit events on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspace: BareWorkspace;
  let outsider: BareWorkspace;
  let keyPrincipal: ApiKeyPrincipal;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    workspace = await createBareWorkspace(harness.db, "Audited");
    outsider = await createBareWorkspace(harness.db, "Outsider");
    keyPrincipal = { kind: "apiKey", apiKeyId: workspace.apiKeyId, workspaceId: workspace.workspaceId };
  });

  afterAll(async () => {
    await harness?.close();
  });

  /**
   * The workspace's events about one target, oldest first, read as the runtime under RLS. Events
   * of one action share its time; the action name orders those.
   */
  async function eventsFor(target: string, workspaceId = workspace.workspaceId) {
    return harness.db.withWorkspace(workspaceId, (tx) =>
      tx.auditEvent.findMany({
        where: { workspaceId, target },
        orderBy: [{ occurredAt: "asc" }, { action: "asc" }],
        select: auditEventSelect,
      }),
    );
  }

  async function agentPrincipal(token: string): Promise<AgentPrincipal> {
    const principal = await authenticateBearer(harness.deps, token);
    if (principal.kind !== "agent") throw new Error("expected an agent");
    return principal;
  }

  async function atTime<T>(now: Date, fn: () => Promise<T>): Promise<T> {
    harness.setNow(now);
    try {
      return await fn();
    } finally {
      harness.setNow(undefined);
    }
  }

  it.skipIf(skip)("records PROVISIONED with the agent id, client type, TTL and the API key that asked", async () => {
    const now = new Date("2030-03-01T09:00:00.000Z");
    const provisioned = await atTime(now, () =>
      provisionAgent(harness.deps, keyPrincipal, { clientType: "claude-code", ttlSeconds: 900, label: "pr-review" }),
    );
    expect(await eventsFor(provisioned.agentId)).toEqual([
      {
        workspaceId: workspace.workspaceId,
        occurredAt: now,
        type: "token",
        action: "provisioned",
        actorType: "api_key",
        actorId: workspace.apiKeyId,
        clientType: "claude-code",
        target: provisioned.agentId,
        reason: null,
        ip: null,
        userAgent: null,
        data: {
          agentId: provisioned.agentId,
          label: "pr-review",
          ttlSeconds: 900,
          expiresAt: "2030-03-01T09:15:00.000Z",
        },
      },
    ]);
    // The token itself appears nowhere in the log, not even in data.
    const all = await harness.queryAsOwner("SELECT * FROM audit_events");
    expect(JSON.stringify(all)).not.toContain(provisioned.token);
  });

  it.skipIf(skip)("records nothing when provisioning is refused", async () => {
    const before = await harness.db.withWorkspace(workspace.workspaceId, (tx) => tx.auditEvent.count());
    await expect(provisionAgent(harness.deps, keyPrincipal, { clientType: "cursor", ttlSeconds: 10 })).rejects.toThrow(
      /ttlSeconds must be between/,
    );
    expect(await harness.db.withWorkspace(workspace.workspaceId, (tx) => tx.auditEvent.count())).toBe(before);
  });

  it.skipIf(skip)("records an agent's registration with its client type and the API key that registered it", async () => {
    const now = new Date("2030-03-02T09:00:00.000Z");
    const registered = await atTime(now, async () =>
      (await harness.caller(workspace.apiKey)).agents.register({ label: "ci-runner", clientType: "github-actions" }),
    );
    expect(await eventsFor(registered.agentId)).toEqual([
      expect.objectContaining({
        occurredAt: now,
        type: "agent",
        action: "register",
        actorType: "api_key",
        actorId: workspace.apiKeyId,
        clientType: "github-actions",
        target: registered.agentId,
        data: { agentId: registered.agentId, label: "ci-runner", tokenExpiresAt: registered.tokenExpiresAt },
      }),
    ]);
  });

  it.skipIf(skip)("records a token rotation once confirmed, with the new expiry, and not before", async () => {
    const { agentId, token } = await harness.registerTestAgent(workspace.apiKey, "rotating");
    const rotated = await (await harness.caller(token)).agents.rotateToken();
    // The tokens' uses are recorded too (token-use.test.ts); this test is about the rotation.
    const eventsBesidesUse = async () => (await eventsFor(agentId)).filter((event) => event.action !== "use");
    // Issued but unconfirmed: the old token still works, nothing has changed yet.
    expect((await eventsBesidesUse()).map((event) => event.action)).toEqual(["register"]);
    const now = new Date(Date.now() + 60_000);
    await atTime(now, async () => (await harness.caller(rotated.token)).agents.confirmRotation());
    // A retried confirmation changes nothing and records nothing more.
    await (await harness.caller(rotated.token)).agents.confirmRotation();
    const events = await eventsBesidesUse();
    expect(events.map((event) => event.action)).toEqual(["register", "rotated"]);
    expect(events[1]).toEqual(
      expect.objectContaining({
        occurredAt: now,
        type: "token",
        action: "rotated",
        actorType: "agent",
        actorId: agentId,
        clientType: "cli",
        target: agentId,
        data: { agentId, tokenExpiresAt: rotated.tokenExpiresAt },
      }),
    );
  });

  it.skipIf(skip)("records each connection with its IP, and an IP change with the previous and new address", async () => {
    const provisioned = await provisionAgent(harness.deps, keyPrincipal, { clientType: "codex" });
    const principal = await agentPrincipal(provisioned.token);
    const first = new Date("2030-03-03T10:00:00.000Z");
    const second = new Date("2030-03-03T11:00:00.000Z");
    await atTime(first, () => recordAgentSeen(harness.deps, principal, { ip: "::ffff:127.0.0.1" }));
    await atTime(second, () => recordAgentSeen(harness.deps, principal, { ip: "127.0.0.2" }));
    const events = await eventsFor(provisioned.agentId);
    expect(events.map((event) => [event.type, event.action])).toEqual([
      ["token", "provisioned"],
      ["agent", "connect"],
      ["agent", "connect"],
      ["token", "ip_change"],
    ]);
    // The first address is not a change; the same address again is not one either.
    await atTime(new Date("2030-03-03T12:00:00.000Z"), () => recordAgentSeen(harness.deps, principal, { ip: "127.0.0.2" }));
    expect((await eventsFor(provisioned.agentId)).filter((event) => event.action === "ip_change")).toHaveLength(1);
    const agentActor = { actorType: "agent", actorId: provisioned.agentId, clientType: "codex", target: provisioned.agentId };
    expect(events[1]).toEqual(
      expect.objectContaining({
        ...agentActor,
        occurredAt: first,
        ip: "127.0.0.1",
        data: { agentId: provisioned.agentId, label: "codex" },
      }),
    );
    expect(events[2]).toEqual(expect.objectContaining({ ...agentActor, occurredAt: second, ip: "127.0.0.2" }));
    expect(events[3]).toEqual(
      expect.objectContaining({
        ...agentActor,
        occurredAt: second,
        ip: "127.0.0.2",
        data: { agentId: provisioned.agentId, previousIp: "127.0.0.1", newIp: "127.0.0.2" },
      }),
    );
  });

  it.skipIf(skip)("records a disconnection with the agent, its client type and IP", async () => {
    const provisioned = await provisionAgent(harness.deps, keyPrincipal, { clientType: "devin", label: "night-shift" });
    const principal = await agentPrincipal(provisioned.token);
    const now = new Date("2030-03-04T10:00:00.000Z");
    await atTime(now, () => recordAgentDisconnected(harness.deps, principal, { ip: "::ffff:10.1.2.3" }));
    expect((await eventsFor(provisioned.agentId)).at(-1)).toEqual({
      workspaceId: workspace.workspaceId,
      occurredAt: now,
      type: "agent",
      action: "disconnect",
      actorType: "agent",
      actorId: provisioned.agentId,
      clientType: "devin",
      target: provisioned.agentId,
      reason: null,
      ip: "10.1.2.3",
      userAgent: null,
      data: { agentId: provisioned.agentId, label: "night-shift" },
    });
  });

  it.skipIf(skip)(
    "records expose and unexpose with the service name, target and agent, not identical re-announcements",
    async () => {
      const { agentId, token } = await harness.registerTestAgent(workspace.apiKey, "db-host");
      const agent = await harness.caller(token);
      // Within the token's 30 days: the agent must stay authenticated at each of these times.
      const start = Date.now();
      const at = (minute: number) => new Date(start + minute * 60_000);
      await atTime(at(0), () => agent.services.expose({ name: "audit-db", targetHost: "127.0.0.1", targetPort: 5432 }));
      // What every reconnect does: nothing changed, nothing to record.
      await atTime(at(1), () => agent.services.expose({ name: "audit-db", targetHost: "127.0.0.1", targetPort: 5432 }));
      await atTime(at(2), () => agent.services.expose({ name: "audit-db", targetHost: "::1", targetPort: 5433 }));
      await atTime(at(3), () => agent.services.unexpose({ name: "audit-db" }));
      const events = await eventsFor("audit-db");
      const common = { type: "service", actorType: "agent", actorId: agentId, clientType: "cli", target: "audit-db" };
      const service = { serviceName: "audit-db", agentId, agentLabel: "db-host" };
      expect(events).toEqual([
        expect.objectContaining({
          ...common,
          occurredAt: at(0),
          action: "expose",
          data: { ...service, target: "127.0.0.1:5432", e2ePolicy: "preferred" },
        }),
        expect.objectContaining({
          ...common,
          occurredAt: at(2),
          action: "expose",
          data: { ...service, target: "[::1]:5433", previousTarget: "127.0.0.1:5432", e2ePolicy: "preferred" },
        }),
        expect.objectContaining({ ...common, occurredAt: at(3), action: "unexpose", data: { ...service, target: "[::1]:5433" } }),
      ]);
      // Removing what is not there is "not found", and no event.
      await expect(agent.services.unexpose({ name: "audit-db" })).rejects.toThrow(/Service not found/);
      expect(await eventsFor("audit-db")).toHaveLength(3);
    },
  );

  it.skipIf(skip)("commits an event with the action's transaction or not at all", async () => {
    class Rollback extends Error {}
    await expect(
      harness.db.withWorkspace(workspace.workspaceId, async (tx) => {
        await recordAuditEvent(tx, workspace.workspaceId, {
          type: "agent",
          action: "connect",
          actor: { type: "system" },
          target: "rolled-back",
        });
        expect(await tx.auditEvent.count({ where: { target: "rolled-back" } })).toBe(1);
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    expect(await eventsFor("rolled-back")).toEqual([]);
    // Given deps instead, it opens its own transaction.
    await recordAuditEvent(harness.deps, workspace.workspaceId, {
      type: "agent",
      action: "connect",
      actor: { type: "system" },
      target: "own-transaction",
    });
    expect(await eventsFor("own-transaction")).toEqual([
      expect.objectContaining({ actorType: "system", actorId: null, data: {} }),
    ]);
  });

  it.skipIf(skip)("refuses the runtime role any UPDATE or DELETE of an event, even its own workspace's", async () => {
    const provisioned = await provisionAgent(harness.deps, keyPrincipal, { clientType: "other" });
    const [event] = await harness.db.withWorkspace(workspace.workspaceId, (tx) =>
      tx.auditEvent.findMany({ where: { target: provisioned.agentId }, select: { id: true } }),
    );
    const id = event?.id ?? "";
    const attempts = [
      `UPDATE audit_events SET action = 'nothing' WHERE id = '${id}'`,
      `UPDATE audit_events SET occurred_at = now() - interval '1 year'`,
      `DELETE FROM audit_events WHERE id = '${id}'`,
      "DELETE FROM audit_events",
      "TRUNCATE audit_events",
    ];
    for (const sql of attempts) {
      await expect(
        harness.db.withWorkspace(workspace.workspaceId, (tx) => tx.$executeRawUnsafe(sql)),
        sql,
      ).rejects.toThrow(/permission denied/);
    }
    await expect(
      harness.db.withWorkspace(workspace.workspaceId, (tx) => tx.auditEvent.deleteMany({ where: { id } })),
    ).rejects.toThrow(/permission denied/);
    expect(await eventsFor(provisioned.agentId)).toEqual([expect.objectContaining({ action: "provisioned" })]);
  });

  it.skipIf(skip)("shows another workspace none of the events, even by id or without its own filter", async () => {
    const provisioned = await provisionAgent(harness.deps, keyPrincipal, { clientType: "sdk" });
    const [event] = await eventsFor(provisioned.agentId);
    expect(event?.action).toBe("provisioned");
    // An event of the outsider's own, from its own action, so its view is not empty by accident.
    const { agentId: outsiderAgent } = await harness.registerTestAgent(outsider.apiKey, "theirs");
    const seenByOutsider = await harness.db.withWorkspace(
      outsider.workspaceId,
      (tx) =>
        tx.$queryRaw<{ workspace_id: string; target: string | null }[]>`SELECT workspace_id::text, target FROM audit_events`,
    );
    expect(seenByOutsider.map((row) => row.workspace_id)).toEqual([outsider.workspaceId]);
    expect(seenByOutsider.map((row) => row.target)).toEqual([outsiderAgent]);
    expect(await eventsFor(provisioned.agentId, outsider.workspaceId)).toEqual([]);
    // Nor can the outsider write into the audited workspace's log.
    await expect(
      recordAuditEvent(
        {
          ...harness.deps,
          db: { ...harness.db, withWorkspace: (_id, fn) => harness.db.withWorkspace(outsider.workspaceId, fn) },
        },
        workspace.workspaceId,
        { type: "agent", action: "connect", actor: { type: "system" }, target: "forged" },
      ),
    ).rejects.toThrow(/row-level security|violates row-level|42501/);
    // Outside any workspace context the table reads as empty.
    expect(await harness.db.prisma.auditEvent.count()).toBe(0);
  });

  it.skipIf(skip)("passes the tenant-table check with audit_events under forced RLS", async () => {
    const report = await inspectTenantTables((sql) => harness.db.prisma.$queryRawUnsafe(sql));
    expect(report.tables).toContainEqual({ name: "audit_events", keyColumn: "workspace_id", kind: "r" });
    expect(report.problems).toEqual([]);
  });
});
