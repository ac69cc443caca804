import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_TOKEN_EXPIRED, INVALID_CREDENTIALS } from "../errors.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";

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
    });
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
    await expectAppError((await harness.caller("pc_short")).agents.register({ label: "x" }), "UNAUTHORIZED", INVALID_CREDENTIALS);
    await expectAppError((await harness.caller("f".repeat(64))).agents.me(), "UNAUTHORIZED", INVALID_CREDENTIALS);
    await expectAppError((await harness.caller("garbage")).agents.me(), "UNAUTHORIZED", INVALID_CREDENTIALS);
    await expectAppError((await harness.caller()).services.list(), "UNAUTHORIZED", /^Missing credentials/);

    const { token } = await harness.registerTestAgent(apiKey, "agent-cannot-register");
    await expectAppError((await harness.caller(token)).agents.register({ label: "x" }), "FORBIDDEN", /needs an API key/);
    await expectAppError((await harness.caller(apiKey)).agents.me(), "FORBIDDEN", /needs an agent token/);
  });

  it.skipIf(skip)("gives a revoked token the same answer as an unknown one", async () => {
    const { agentId, token } = await harness.registerTestAgent(apiKey, "revoked");
    await harness.db.withWorkspace(workspaceId, (tx) =>
      tx.agent.update({ where: { id: agentId }, data: { revokedAt: new Date() } }),
    );
    await expectAppError((await harness.caller(token)).agents.me(), "UNAUTHORIZED", INVALID_CREDENTIALS);
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
});
