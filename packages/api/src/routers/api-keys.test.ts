import { randomUUID } from "node:crypto";
import { sha256Hex } from "@private-connect/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY_NOT_FOUND, INVALID_CREDENTIALS, WORKSPACE_NOT_FOUND } from "../errors.js";
import type { Revocation } from "../events/revocations.js";
import { createAgentTeam } from "../test-support/agent-team.js";
import { expectAppError, type Harness, openHarness, type SignedInTestUser, testEngines } from "../test-support/harness.js";
import { scanTablesForSecrets } from "../test-support/scan-for-secrets.js";

describe.each(testEngines)("API keys on $name", ({ name, skip }) => {
  let harness: Harness;
  const secrets: string[] = [];
  let counter = 0;

  async function signIn(tag: string): Promise<SignedInTestUser & { workspaceId: string }> {
    const user = await harness.signIn(`${tag}-${++counter}-${randomUUID().slice(0, 8)}@example.com`);
    secrets.push(user.sessionToken, user.linkToken);
    return { ...user, workspaceId: user.workspaces[0]?.id ?? "" };
  }

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("shows a new key once; the listing has its name, prefix and use, never the key or its hash", async () => {
    const owner = await signIn("owner");
    const asOwner = await owner.in(owner.workspaceId);
    const created = await asOwner.apiKeys.create({ name: " ci " });
    secrets.push(created.key);
    expect(created).toEqual({
      id: expect.any(String),
      name: "ci",
      prefix: created.key.slice(0, 7),
      key: expect.stringMatching(/^pc_[A-Za-z0-9]{32}$/),
      createdAt: expect.any(String),
    });

    const listed = await (await owner.in(owner.workspaceId)).apiKeys.list();
    expect(listed).toEqual([
      { id: created.id, name: "ci", prefix: created.prefix, createdAt: created.createdAt, lastUsedAt: null },
    ]);
    const text = JSON.stringify(listed);
    expect(text).not.toContain(created.key.slice(3));
    expect(text).not.toContain(sha256Hex(created.key));

    // The key works for the workspace, and its use shows up.
    expect(await (await harness.caller(created.key)).services.list()).toEqual([]);
    const [afterUse] = await (await owner.in(owner.workspaceId)).apiKeys.list();
    expect(afterUse?.lastUsedAt).toEqual(expect.any(String));
  });

  it.skipIf(skip)("revokes at once: the next request with the key fails, even from a context prepared before", async () => {
    const owner = await signIn("revoker");
    const created = await (await owner.in(owner.workspaceId)).apiKeys.create({ name: "doomed" });
    secrets.push(created.key);
    expect(await (await harness.caller(created.key)).services.list()).toEqual([]);
    // Resolved lazily, per request: a caller built before the revocation is refused after it.
    const preparedEarlier = await harness.caller(created.key);

    const revoked = await (await owner.in(owner.workspaceId)).apiKeys.revoke({ id: created.id });
    expect(revoked).toEqual({ id: created.id, revokedAt: expect.any(String), revokedAgentIds: [] });
    await expectAppError(preparedEarlier.services.list(), "UNAUTHORIZED", INVALID_CREDENTIALS);
    await expectAppError(
      (await harness.caller(created.key)).agents.register({ label: "x" }),
      "UNAUTHORIZED",
      INVALID_CREDENTIALS,
    );
    expect(await (await owner.in(owner.workspaceId)).apiKeys.list()).toEqual([]);
    // Revoking again answers with the first revocation.
    expect(await (await owner.in(owner.workspaceId)).apiKeys.revoke({ id: created.id })).toEqual(revoked);
  });

  it.skipIf(skip)("lets an API key manage keys, itself included", async () => {
    const { apiKey, workspaceId } = await harness.createTestWorkspace();
    secrets.push(apiKey);
    const asKey = await harness.caller(apiKey);
    const minted = await asKey.apiKeys.create({ name: "minted by key" });
    secrets.push(minted.key);
    const listed = await (await harness.caller(apiKey)).apiKeys.list();
    expect(listed.map((key) => key.name)).toEqual(["default", "minted by key"]);
    const self = listed.find((key) => key.name === "default");
    await (await harness.caller(apiKey)).apiKeys.revoke({ id: self?.id ?? "" });
    await expectAppError((await harness.caller(apiKey)).apiKeys.list(), "UNAUTHORIZED", INVALID_CREDENTIALS);
    expect((await (await harness.caller(minted.key)).apiKeys.list()).map((key) => key.name)).toEqual(["minted by key"]);
    expect(workspaceId).toBeDefined();
  });

  it.skipIf(skip)("refuses agents with a message that says what to use", async () => {
    const { apiKey } = await harness.createTestWorkspace();
    const { token } = await harness.registerTestAgent(apiKey, "key-curious");
    secrets.push(apiKey, token);
    await expectAppError((await harness.caller(token)).apiKeys.list(), "FORBIDDEN", /^Agent tokens cannot manage API keys/);
    await expectAppError((await harness.caller(token)).apiKeys.create({ name: "x" }), "FORBIDDEN", /^Agent tokens cannot/);
  });

  it.skipIf(skip)("gives an outsider NOT_FOUND for this workspace's keys, and leaves them working", async () => {
    const owner = await signIn("keyholder");
    const created = await (await owner.in(owner.workspaceId)).apiKeys.create({ name: "target" });
    secrets.push(created.key);
    const outsider = await signIn("keythief");

    await expectAppError((await outsider.in(owner.workspaceId)).apiKeys.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);
    await expectAppError(
      (await outsider.in(owner.workspaceId)).apiKeys.revoke({ id: created.id }),
      "NOT_FOUND",
      WORKSPACE_NOT_FOUND,
    );
    await expectAppError(
      (await outsider.in(outsider.workspaceId)).apiKeys.revoke({ id: created.id }),
      "NOT_FOUND",
      API_KEY_NOT_FOUND,
    );
    await expectAppError(
      (await outsider.in(outsider.workspaceId)).apiKeys.revoke({ id: randomUUID() }),
      "NOT_FOUND",
      API_KEY_NOT_FOUND,
    );
    expect(await (await outsider.in(outsider.workspaceId)).apiKeys.list()).toEqual([]);
    // Another workspace's API key cannot reach it either.
    const other = await harness.createTestWorkspace();
    secrets.push(other.apiKey);
    await expectAppError((await harness.caller(other.apiKey)).apiKeys.revoke({ id: created.id }), "NOT_FOUND", API_KEY_NOT_FOUND);

    expect(await (await harness.caller(created.key)).services.list()).toEqual([]);
  });

  it.skipIf(skip)(
    "revokes the agents a revoked key registered, provisioned or approved, and cuts their connections",
    async () => {
      const team = await createAgentTeam(harness, "leaked-key");
      secrets.push(team.apiKey);
      const registered = await team.register("ci-runner");
      const provisioned = await team.provision("claude");
      const byMember = await team.login("member-laptop", team.member);
      // Another key's agent is none of this key's business.
      const otherKey = await (await team.owner.in(team.workspaceId)).apiKeys.create({ name: "other" });
      secrets.push(otherKey.key);
      const bystander = await team.register("bystander", otherKey.key);
      const published: Revocation[] = [];
      const stop = harness.deps.revocations.subscribe((revocation) => published.push(revocation));
      try {
        const revoked = await (await team.owner.in(team.workspaceId)).apiKeys.revoke({ id: team.apiKeyId });
        expect(revoked.revokedAgentIds.sort()).toEqual([registered.agentId, provisioned.agentId].sort());
        for (const agent of [registered, provisioned]) {
          await expectAppError(
            (await harness.caller(agent.token)).services.list(),
            "UNAUTHORIZED",
            `This agent was revoked by an owner of ${team.workspaceName} (the API key that registered it was revoked): ask them to let you in again`,
          );
        }
        expect(
          published.map((revocation) => (revocation.kind === "agent" ? revocation.agentId : revocation.kind)).sort(),
        ).toEqual(
          // "apiKey" ends the key's own open live updates (events.test.ts).
          [...revoked.revokedAgentIds, "apiKey"].sort(),
        );
        for (const agent of [byMember, bystander]) {
          await expect((await harness.caller(agent.token)).agents.me()).resolves.toMatchObject({ agentId: agent.agentId });
        }
        const audit = await harness.db.withWorkspace(team.workspaceId, (tx) =>
          tx.auditEvent.findMany({
            where: { workspaceId: team.workspaceId, type: "agent", action: "revoke" },
            select: { target: true, actorType: true, actorId: true, reason: true },
          }),
        );
        expect(audit).toHaveLength(2);
        expect(audit).toEqual(
          expect.arrayContaining([
            { target: registered.agentId, actorType: "user", actorId: team.owner.userId, reason: "api_key_revoked" },
          ]),
        );
      } finally {
        stop();
      }
    },
  );

  it.skipIf(skip)("keeps a revoked key's agents when the owner asks, and revokes them if asked again without", async () => {
    const team = await createAgentTeam(harness, "rotated-key");
    secrets.push(team.apiKey);
    const kept = await team.register("prod-server");
    const asOwner = await team.owner.in(team.workspaceId);
    const revoked = await asOwner.apiKeys.revoke({ id: team.apiKeyId, keepAgents: true });
    expect(revoked.revokedAgentIds).toEqual([]);
    // The key is dead, its agent lives on.
    await expectAppError((await harness.caller(team.apiKey)).services.list(), "UNAUTHORIZED", INVALID_CREDENTIALS);
    await expect((await harness.caller(kept.token)).agents.me()).resolves.toMatchObject({ agentId: kept.agentId });
    // Changing one's mind later: the key's revocation stays the first, its agents go now.
    const again = await (await team.owner.in(team.workspaceId)).apiKeys.revoke({ id: team.apiKeyId });
    expect(again).toEqual({ id: team.apiKeyId, revokedAt: revoked.revokedAt, revokedAgentIds: [kept.agentId] });
    await expectAppError((await harness.caller(kept.token)).agents.me(), "UNAUTHORIZED", /^This agent was revoked/);
  });

  it.skipIf(skip)("stores no API key, session token or sign-in link token in clear, in any table", async () => {
    const linkTokens = harness.sentMail.map((mail) => new URL(mail.url).searchParams.get("token") ?? "");
    const keys = secrets.filter((secret) => secret.startsWith("pc_"));
    expect(new Set(keys).size).toBe(10);
    const scan = await scanTablesForSecrets(harness, [...secrets, ...linkTokens]);
    expect(scan.plaintextHits).toEqual([]);
    expect(scan.rowsByTable.api_keys).toBeGreaterThanOrEqual(keys.length);
    // Every key's digest is in api_keys: the scan saw the rows that would hold a leak.
    expect((await scanTablesForSecrets(harness, keys)).hashesFound).toBe(keys.length);
  });
});
