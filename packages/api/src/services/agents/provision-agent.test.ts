import { sha256Hex } from "@private-connect/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyPrincipal } from "../../deps.js";
import { AppError, PROVISIONED_TOKEN_EXPIRED } from "../../errors.js";
import { CLIENT_TYPES, PROVISION_TTL_BOUNDS_MESSAGE } from "../../schemas/agents.js";
import { type BareWorkspace, createBareWorkspace } from "../../test-support/bare-workspace.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../../test-support/harness.js";
import { provisionAgent } from "./provision-agent.js";

const HOUR_MS = 60 * 60 * 1000;

describe.each(testEngines)("provisionAgent on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspace: BareWorkspace;
  let principal: ApiKeyPrincipal;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    workspace = await createBareWorkspace(harness.db, "Provisioning");
    principal = { kind: "apiKey", apiKeyId: workspace.apiKeyId, workspaceId: workspace.workspaceId };
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("mints an agent with its own token, valid for two hours by default, tagged with its client type", async () => {
    const now = new Date("2030-06-01T12:00:00.000Z");
    harness.setNow(now);
    try {
      const provisioned = await provisionAgent(harness.deps, principal, { clientType: "claude-code" });
      expect(provisioned.token).toMatch(/^[0-9a-f]{64}$/);
      expect(provisioned.expiresAt).toBe(new Date(now.getTime() + 2 * HOUR_MS).toISOString());
      const me = await (await harness.caller(provisioned.token)).agents.me();
      expect(me).toMatchObject({
        agentId: provisioned.agentId,
        clientType: "claude-code",
        label: "claude-code",
        isProvisioned: true,
        tokenExpiresAt: provisioned.expiresAt,
        workspace: { id: workspace.workspaceId, name: "Provisioning" },
      });
      // The facts the audit log will record as PROVISIONED, and the token only as a hash.
      const row = await harness.db.withWorkspace(workspace.workspaceId, (tx) =>
        tx.agent.findFirst({ where: { id: provisioned.agentId } }),
      );
      expect(row).toMatchObject({
        clientType: "claude-code",
        provisionedAt: now,
        provisionedTtlSeconds: 7200,
        provisionedByApiKeyId: workspace.apiKeyId,
        tokenHash: sha256Hex(provisioned.token),
      });
      expect(JSON.stringify(row)).not.toContain(provisioned.token);
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("accepts 300 and 86400 seconds and refuses 299 and 86401 naming the bounds", async () => {
    const shortest = await provisionAgent(harness.deps, principal, { clientType: "cursor", ttlSeconds: 300 });
    const longest = await provisionAgent(harness.deps, principal, { clientType: "codex", ttlSeconds: 86_400, label: "nightly" });
    expect(new Date(shortest.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(300_000);
    expect(new Date(longest.expiresAt).getTime() - Date.now()).toBeGreaterThan(86_399_000);
    for (const ttlSeconds of [299, 86_401, 0, -1, 3600.5]) {
      const error = await provisionAgent(harness.deps, principal, { clientType: "devin", ttlSeconds }).catch(
        (caught: unknown) => caught,
      );
      expect(error, String(ttlSeconds)).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("BAD_REQUEST");
      expect((error as AppError).message).toBe(PROVISION_TTL_BOUNDS_MESSAGE);
    }
    expect(PROVISION_TTL_BOUNDS_MESSAGE).toBe("ttlSeconds must be between 300 (5 minutes) and 86400 (24 hours)");
    // The same message through tRPC.
    await expectAppError(
      (await harness.caller(workspace.apiKey)).agents.provision({ clientType: "devin", ttlSeconds: 299 }),
      "BAD_REQUEST",
      PROVISION_TTL_BOUNDS_MESSAGE,
    );
  });

  it.skipIf(skip)("never lets the caller choose the agent id or the token", async () => {
    const chosenId = "00000000-0000-4000-8000-000000000001";
    const chosenToken = "a".repeat(64);
    for (const extra of [{ agentId: chosenId }, { token: chosenToken }, { agentId: chosenId, token: chosenToken }]) {
      const error = await provisionAgent(harness.deps, principal, { clientType: "cli", ...extra }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).message).toMatch(/cannot be chosen by the caller: the hub generates/);
    }
    await expectAppError(
      (await harness.caller(workspace.apiKey)).agents.provision({ clientType: "cli", agentId: chosenId } as never),
      "BAD_REQUEST",
      /agentId cannot be chosen/,
    );
    const rows = await harness.db.withWorkspace(workspace.workspaceId, (tx) =>
      tx.agent.count({ where: { OR: [{ id: chosenId }, { tokenHash: sha256Hex(chosenToken) }] } }),
    );
    expect(rows).toBe(0);
    // Two provisions never share an id or a token.
    const first = await provisionAgent(harness.deps, principal, { clientType: "sdk" });
    const second = await provisionAgent(harness.deps, principal, { clientType: "sdk" });
    expect(first.agentId).not.toBe(second.agentId);
    expect(first.token).not.toBe(second.token);
  });

  it.skipIf(skip)("takes only the listed client types", async () => {
    for (const clientType of CLIENT_TYPES) {
      await expect(provisionAgent(harness.deps, principal, { clientType })).resolves.toBeDefined();
    }
    const error = await provisionAgent(harness.deps, principal, { clientType: "copilot" }).catch((caught: unknown) => caught);
    expect((error as AppError).message).toBe(
      "clientType must be one of cli, sdk, cursor, claude-code, codex, devin, github-actions, other",
    );
    const notAnObject = await provisionAgent(harness.deps, principal, "claude-code").catch((caught: unknown) => caught);
    expect((notAnObject as AppError).code).toBe("BAD_REQUEST");
  });

  it.skipIf(skip)("is for API keys only, and its token can be neither rotated nor used after expiry", async () => {
    const provisioned = await provisionAgent(harness.deps, principal, { clientType: "github-actions", ttlSeconds: 600 });
    await expectAppError(
      (await harness.caller(provisioned.token)).agents.provision({ clientType: "cli" }),
      "FORBIDDEN",
      /needs an API key/,
    );
    await expectAppError(
      (await harness.caller(provisioned.token)).agents.rotateToken(),
      "FORBIDDEN",
      /provisioned agent token cannot be rotated/,
    );
    try {
      harness.setNow(new Date(provisioned.expiresAt));
      await expectAppError((await harness.caller(provisioned.token)).services.list(), "TOKEN_EXPIRED", PROVISIONED_TOKEN_EXPIRED);
    } finally {
      harness.setNow(undefined);
    }
  });
});
