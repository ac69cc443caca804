import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AGENT_NOT_FOUND,
  AGENT_TOKEN_EXPIRED,
  INVALID_CREDENTIALS,
  MALFORMED_API_KEY,
  MALFORMED_CREDENTIALS,
} from "../errors.js";
import type { Revocation } from "../events/revocations.js";
import { createCaller } from "../root.js";
import {
  AGENT_REVOKES_OWN_KIND_ONLY,
  MEMBER_REVOKES_OWN_AGENTS_ONLY,
  PROVISIONED_AGENT_REVOKES_ITSELF_ONLY,
} from "../services/agents/revoke-agent.js";
import { type AgentTeam, createAgentTeam } from "../test-support/agent-team.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";
import { createContextInner } from "../trpc.js";

const DAY_MS = 24 * 60 * 60 * 1000;

describe.each(testEngines)("agents router on $name", ({ name, skip }) => {
  let harness: Harness;
  let apiKey: string;
  let workspaceId: string;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    ({ apiKey, workspaceId } = await harness.createTestWorkspace("Acme Corp"));
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("registers an agent with an API key and returns a token that identifies it", async () => {
    const registered = await (await harness.caller(apiKey)).agents.register({ label: "laptop", clientType: "claude-code" });
    expect(registered.token).toMatch(/^[0-9a-f]{64}$/);
    expect(registered.workspace).toEqual({ id: workspaceId, name: "Acme Corp" });
    const expiresInMs = new Date(registered.tokenExpiresAt).getTime() - Date.now();
    expect(expiresInMs).toBeGreaterThan(29.9 * DAY_MS);
    expect(expiresInMs).toBeLessThanOrEqual(30 * DAY_MS);

    const me = await (await harness.caller(registered.token)).agents.me();
    expect(me).toEqual({
      agentId: registered.agentId,
      label: "laptop",
      clientType: "claude-code",
      tokenExpiresAt: registered.tokenExpiresAt,
      workspace: { id: workspaceId, name: "Acme Corp" },
      isProvisioned: false,
      isRotationPending: false,
      recentIpChanges: [],
      registeredAt: expect.any(String),
      tokenMaxExpiresAt: expect.any(String),
      e2ePublicKey: null,
    });
    // No rotation extends the token past a year (TOKEN_MAX_LIFETIME_DAYS' default) from registration.
    expect(new Date(me.tokenMaxExpiresAt).getTime() - new Date(me.registeredAt).getTime()).toBe(365 * DAY_MS);
  });

  it.skipIf(skip)("stores only the SHA-256 of the agent token", async () => {
    const { agentId, token } = await harness.registerTestAgent(apiKey, "server");
    const rows = await harness.db.withWorkspace(
      workspaceId,
      (tx) => tx.$queryRaw<{ token_hash: string }[]>`SELECT token_hash FROM agents WHERE id = ${agentId}::uuid`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.token_hash).not.toContain(token);
    expect(rows[0]?.token_hash).toBe((await import("@private-connect/db")).sha256Hex(token));
  });

  it.skipIf(skip)("defaults the client type to cli and rejects an empty label with a usable message", async () => {
    const caller = await harness.caller(apiKey);
    const { token } = await caller.agents.register({ label: "ci" });
    expect((await (await harness.caller(token)).agents.me()).clientType).toBe("cli");
    await expect(caller.agents.register({ label: "   " })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "label: Agent label must not be empty: pass --label <name>",
    });
  });

  it.skipIf(skip)("rejects unknown, malformed, missing and wrong-kind credentials", async () => {
    await expectAppError(
      (await harness.caller("pc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).agents.register({ label: "x" }),
      "UNAUTHORIZED",
      INVALID_CREDENTIALS,
    );
    // Well-formed but unknown: the one message for all. Malformed: says what a key looks like.
    await expectAppError((await harness.caller("f".repeat(64))).agents.me(), "UNAUTHORIZED", INVALID_CREDENTIALS);
    for (const key of ["pc_short", "pc_bogus", `pc_${"A".repeat(31)}!`, `pc_${"A".repeat(33)}`]) {
      await expectAppError((await harness.caller(key)).agents.register({ label: "x" }), "UNAUTHORIZED", MALFORMED_API_KEY);
    }
    for (const bearer of ["garbage", "F".repeat(64), "f".repeat(63), ` pc_${"A".repeat(32)}`]) {
      await expectAppError((await harness.caller(bearer)).agents.me(), "UNAUTHORIZED", MALFORMED_CREDENTIALS);
    }
    await expectAppError((await harness.caller()).services.list(), "UNAUTHORIZED", /^Missing credentials/);

    const { token } = await harness.registerTestAgent(apiKey, "agent-cannot-register");
    await expectAppError((await harness.caller(token)).agents.register({ label: "x" }), "FORBIDDEN", /needs an API key/);
    await expectAppError((await harness.caller(apiKey)).agents.me(), "FORBIDDEN", /needs an agent token/);
  });

  it.skipIf(skip)("tells a revoked token's holder, and only them, that it was revoked", async () => {
    const { agentId, token } = await harness.registerTestAgent(apiKey, "revoked");
    await harness.db.withWorkspace(workspaceId, (tx) =>
      tx.agent.update({ where: { id: agentId }, data: { revokedAt: new Date() } }),
    );
    await expectAppError(
      (await harness.caller(token)).agents.me(),
      "UNAUTHORIZED",
      "This agent was revoked by an owner of Acme Corp: ask them to let you in again",
    );
    // A token that is not one (a guess) still learns nothing.
    await expectAppError((await harness.caller("0".repeat(64))).agents.me(), "UNAUTHORIZED", INVALID_CREDENTIALS);
  });

  it.skipIf(skip)("rejects a revoked API key", async () => {
    const other = await harness.createTestWorkspace();
    await harness.db.withWorkspace(other.workspaceId, (tx) =>
      tx.apiKey.updateMany({ where: { workspaceId: other.workspaceId }, data: { revokedAt: new Date() } }),
    );
    await expectAppError((await harness.caller(other.apiKey)).services.list(), "UNAUTHORIZED", INVALID_CREDENTIALS);
  });

  it.skipIf(skip)("answers TOKEN_EXPIRED once the token's expiry has passed", async () => {
    const { token } = await harness.registerTestAgent(apiKey, "expiring");
    try {
      harness.setNow(new Date(Date.now() + 29 * DAY_MS));
      await expect((await harness.caller(token)).agents.me()).resolves.toMatchObject({ label: "expiring" });
      harness.setNow(new Date(Date.now() + 31 * DAY_MS));
      await expectAppError((await harness.caller(token)).agents.me(), "TOKEN_EXPIRED", AGENT_TOKEN_EXPIRED);
      await expectAppError((await harness.caller(token)).services.list(), "TOKEN_EXPIRED", AGENT_TOKEN_EXPIRED);
    } finally {
      harness.setNow(undefined);
    }
  });

  describe("agents.revoke", () => {
    let team: AgentTeam;
    const published: Revocation[] = [];

    beforeAll(async () => {
      if (skip) return;
      team = await createAgentTeam(harness, "revoke");
      harness.deps.revocations.subscribe((revocation) => published.push(revocation));
    });

    async function asOwner() {
      return team.owner.in(team.workspaceId);
    }
    async function asMember() {
      return team.member.in(team.workspaceId);
    }
    async function listedIds(): Promise<string[]> {
      return (await (await asOwner()).agents.list()).map((agent) => agent.agentId);
    }

    it.skipIf(skip)("records what let each agent in, and lists it with the creator, last use and maximum lifetime", async () => {
      const registered = await team.register("by-key");
      const provisioned = await team.provision("by-runtime");
      const approved = await team.login("by-member", team.member);
      const listed = await (await asOwner()).agents.list();
      const byId = new Map(listed.map((agent) => [agent.agentId, agent]));
      expect(byId.get(registered.agentId)?.createdBy).toEqual({ type: "api_key", id: team.apiKeyId, name: team.apiKeyName });
      expect(byId.get(provisioned.agentId)?.createdBy).toEqual({
        type: "provisioning_key",
        id: team.apiKeyId,
        name: team.apiKeyName,
      });
      expect(byId.get(approved.agentId)?.createdBy).toEqual({ type: "user", id: team.member.userId, name: team.member.email });
      const agent = byId.get(registered.agentId);
      expect(new Date(agent?.tokenMaxExpiresAt ?? 0).getTime() - new Date(agent?.createdAt ?? 0).getTime()).toBe(365 * DAY_MS);
      // A provisioned token cannot rotate: its own expiry is as far as it goes.
      expect(byId.get(provisioned.agentId)?.tokenMaxExpiresAt).toBe(byId.get(provisioned.agentId)?.tokenExpiresAt);
      expect(agent).toMatchObject({ lastSeenAt: null, lastIp: null });

      // An enrolled machine (connect agents list) sees the same; a provisioned runtime sees what
      // let each agent in, but no one's address and no key name.
      const asMachine = await (await harness.caller(registered.token)).agents.list();
      expect(asMachine.find((listed) => listed.agentId === approved.agentId)?.createdBy.name).toBe(team.member.email);
      const asRuntime = await (await harness.caller(provisioned.token)).agents.list();
      expect(asRuntime.find((listed) => listed.agentId === approved.agentId)?.createdBy).toEqual({
        type: "user",
        id: team.member.userId,
        name: null,
      });
      expect(asRuntime.find((listed) => listed.agentId === registered.agentId)?.createdBy.name).toBeNull();
      expect(JSON.stringify(asRuntime)).not.toContain(team.member.email);
    });

    it.skipIf(skip)("lets an owner revoke any agent: the token stops at once, the list drops it, the relay is told", async () => {
      const approvedByMember = await team.login("member-laptop", team.member);
      const before = published.length;
      const revoked = await (await asOwner()).agents.revoke({ agentId: approvedByMember.agentId });
      expect(revoked).toEqual({ agentId: approvedByMember.agentId, label: "member-laptop", revokedAt: expect.any(String) });
      await expectAppError(
        (await harness.caller(approvedByMember.token)).services.list(),
        "UNAUTHORIZED",
        `This agent was revoked by an owner of ${team.workspaceName}: ask them to let you in again`,
      );
      expect(await listedIds()).not.toContain(approvedByMember.agentId);
      expect(published.slice(before)).toEqual([
        {
          kind: "agent",
          agentId: approvedByMember.agentId,
          workspaceId: team.workspaceId,
          reason: `This agent was revoked by an owner of ${team.workspaceName}: ask them to let you in again`,
        },
      ]);

      // Twice: the first revocation, one audit event with the owner as actor, nothing republished.
      expect(await (await asOwner()).agents.revoke({ agentId: approvedByMember.agentId })).toEqual(revoked);
      expect(published).toHaveLength(before + 1);
      const audit = await harness.db.withWorkspace(team.workspaceId, (tx) =>
        tx.auditEvent.findMany({
          where: { workspaceId: team.workspaceId, type: "agent", action: "revoke", target: approvedByMember.agentId },
          select: { actorType: true, actorId: true },
        }),
      );
      expect(audit).toEqual([{ actorType: "user", actorId: team.owner.userId }]);
    });

    it.skipIf(skip)("lets a member revoke only the agents they let in themselves", async () => {
      const byKey = await team.register("key-server");
      const byOwner = await team.login("owner-laptop", team.owner);
      const byMember = await team.login("member-desktop", team.member);
      await expectAppError(
        (await asMember()).agents.revoke({ agentId: byKey.agentId }),
        "FORBIDDEN",
        MEMBER_REVOKES_OWN_AGENTS_ONLY,
      );
      await expectAppError(
        (await asMember()).agents.revoke({ agentId: byOwner.agentId }),
        "FORBIDDEN",
        MEMBER_REVOKES_OWN_AGENTS_ONLY,
      );
      // Refused means untouched: both still work.
      await expect((await harness.caller(byKey.token)).agents.me()).resolves.toMatchObject({ agentId: byKey.agentId });
      await expect((await harness.caller(byOwner.token)).agents.me()).resolves.toMatchObject({ agentId: byOwner.agentId });
      await expect((await asMember()).agents.revoke({ agentId: byMember.agentId })).resolves.toMatchObject({
        agentId: byMember.agentId,
      });
      await expectAppError((await harness.caller(byMember.token)).agents.me(), "UNAUTHORIZED", /^This agent was revoked/);
    });

    it.skipIf(skip)("answers Agent not found for another workspace's agent and for none at all (outsider)", async () => {
      const victim = await team.register("victim");
      const outsider = await harness.createTestWorkspace("Rival");
      await expectAppError(
        (await harness.caller(outsider.apiKey)).agents.revoke({ agentId: victim.agentId }),
        "NOT_FOUND",
        AGENT_NOT_FOUND,
      );
      const rivalOwner = await harness.signIn(`rival-owner-${Date.now()}@example.com`);
      const rivalWorkspace = rivalOwner.workspaces[0]?.id ?? "";
      await expectAppError(
        (await rivalOwner.in(rivalWorkspace)).agents.revoke({ agentId: victim.agentId }),
        "NOT_FOUND",
        AGENT_NOT_FOUND,
      );
      const rivalAgent = await harness.registerTestAgent(outsider.apiKey, "rival-agent");
      await expectAppError(
        (await harness.caller(rivalAgent.token)).agents.revoke({ agentId: victim.agentId }),
        "NOT_FOUND",
        AGENT_NOT_FOUND,
      );
      await expectAppError(
        (await asOwner()).agents.revoke({ agentId: "00000000-0000-4000-8000-000000000000" }),
        "NOT_FOUND",
        AGENT_NOT_FOUND,
      );
      await expect((await harness.caller(victim.token)).agents.me()).resolves.toMatchObject({ agentId: victim.agentId });
    });

    it.skipIf(skip)("lets an API key revoke any agent of its workspace", async () => {
      const byMember = await team.login("member-ci", team.member);
      await expect((await harness.caller(team.apiKey)).agents.revoke({ agentId: byMember.agentId })).resolves.toMatchObject({
        agentId: byMember.agentId,
      });
      const audit = await harness.db.withWorkspace(team.workspaceId, (tx) =>
        tx.auditEvent.findFirst({
          where: { workspaceId: team.workspaceId, type: "agent", action: "revoke", target: byMember.agentId },
          select: { actorType: true, actorId: true },
        }),
      );
      expect(audit).toEqual({ actorType: "api_key", actorId: team.apiKeyId });
    });

    it.skipIf(skip)("lets an agent revoke itself, and others only as far as whoever it acts for could", async () => {
      const keyAgent = await team.register("key-agent");
      const memberAgent = await team.login("member-agent", team.member);
      const memberSibling = await team.login("member-sibling", team.member);
      const ownerAgent = await team.login("owner-agent", team.owner);
      const runtime = await team.provision("runtime");
      const target = await team.register("target");

      // Provisioned: only itself.
      await expectAppError(
        (await harness.caller(runtime.token)).agents.revoke({ agentId: target.agentId }),
        "FORBIDDEN",
        PROVISIONED_AGENT_REVOKES_ITSELF_ONLY,
      );
      // Approved by a member: not an agent the member did not let in...
      await expectAppError(
        (await harness.caller(memberAgent.token)).agents.revoke({ agentId: target.agentId }),
        "FORBIDDEN",
        AGENT_REVOKES_OWN_KIND_ONLY,
      );
      // ...but one the same member let in, yes.
      await (await harness.caller(memberAgent.token)).agents.revoke({ agentId: memberSibling.agentId });
      await expectAppError((await harness.caller(memberSibling.token)).agents.me(), "UNAUTHORIZED", /^This agent was revoked/);

      // Approved by an owner, or registered by a key: acts for an owner.
      await (await harness.caller(ownerAgent.token)).agents.revoke({ agentId: target.agentId });
      await (await harness.caller(keyAgent.token)).agents.revoke({ agentId: runtime.agentId });
      await expectAppError((await harness.caller(runtime.token)).agents.me(), "UNAUTHORIZED", /^This agent was revoked/);

      // Itself, always; afterwards its own token is dead, audited with the agent as actor.
      await (await harness.caller(memberAgent.token)).agents.revoke({ agentId: memberAgent.agentId });
      await expectAppError((await harness.caller(memberAgent.token)).agents.me(), "UNAUTHORIZED", /^This agent was revoked/);
      const audit = await harness.db.withWorkspace(team.workspaceId, (tx) =>
        tx.auditEvent.findFirst({
          where: { workspaceId: team.workspaceId, type: "agent", action: "revoke", target: memberAgent.agentId },
          select: { actorType: true, actorId: true },
        }),
      );
      expect(audit).toEqual({ actorType: "agent", actorId: memberAgent.agentId });
      // Untouched by the refusals above.
      await expect((await harness.caller(keyAgent.token)).agents.me()).resolves.toMatchObject({ agentId: keyAgent.agentId });
    });

    it.skipIf(skip)("refuses a connect login whose approver was removed before the machine collected it", async () => {
      const late = await harness.signIn(`late-member-${Date.now()}@example.com`);
      await harness.db.withWorkspace(team.workspaceId, (tx) =>
        tx.membership.create({
          data: { workspaceId: team.workspaceId, userId: late.userId, role: "member" },
          select: { id: true },
        }),
      );
      const anonymous = createCaller(await createContextInner({ deps: harness.deps, ip: "10.99.0.1" }));
      const started = await anonymous.deviceAuth.start({ label: "sneaky", hubUrl: "https://hub.example.com" });
      await (await late.in(team.workspaceId)).deviceAuth.approve({ userCode: started.userCode });
      await (await asOwner()).members.remove({ userId: late.userId });
      await expectAppError(anonymous.deviceAuth.poll({ deviceCode: started.deviceCode }), "FORBIDDEN", /run connect login again/);
    });
  });
});
