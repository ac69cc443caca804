import { randomUUID } from "node:crypto";
import { sha256Hex } from "@private-connect/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY_NOT_FOUND, INVALID_CREDENTIALS, WORKSPACE_NOT_FOUND } from "../errors.js";
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
    expect(revoked).toEqual({ id: created.id, revokedAt: expect.any(String) });
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

  it.skipIf(skip)("stores no API key, session token or sign-in link token in clear, in any table", async () => {
    const linkTokens = harness.sentMail.map((mail) => new URL(mail.url).searchParams.get("token") ?? "");
    const keys = secrets.filter((secret) => secret.startsWith("pc_"));
    expect(new Set(keys).size).toBe(7);
    const scan = await scanTablesForSecrets(harness, [...secrets, ...linkTokens]);
    expect(scan.plaintextHits).toEqual([]);
    expect(scan.rowsByTable.api_keys).toBeGreaterThanOrEqual(keys.length);
    // Every key's digest is in api_keys: the scan saw the rows that would hold a leak.
    expect((await scanTablesForSecrets(harness, keys)).hashesFound).toBe(keys.length);
  });
});
