import { sha256Hex } from "@private-connect/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, type Harness, openHarness, testEngines } from "../../test-support/harness.js";
import { createWorkspace, slugify } from "./create-workspace.js";

describe.each(testEngines)("createWorkspace on $name", ({ name, skip }) => {
  let harness: Harness;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("returns a pc_ key that authenticates, and stores only its hash", async () => {
    const created = await createWorkspace(harness.deps, { name: "Acme Corp", ownerEmail: "  Alice@Example.COM " });
    expect(created.apiKey).toMatch(/^pc_[A-Za-z0-9]{32}$/);
    expect(created.apiKeyPrefix).toBe(created.apiKey.slice(0, 7));
    expect(created.workspace).toEqual({ id: created.workspace.id, name: "Acme Corp", slug: expect.stringMatching(/^acme-corp/) });

    // The key works end to end.
    expect(await (await harness.caller(created.apiKey)).services.list()).toEqual([]);

    // And the table holds the hash and the prefix, never the key.
    const rows = await harness.db.withWorkspace(
      created.workspace.id,
      (tx) => tx.$queryRaw<Record<string, unknown>[]>`SELECT * FROM api_keys WHERE workspace_id = ${created.workspace.id}::uuid`,
    );
    expect(rows).toHaveLength(1);
    const row = rows[0] ?? {};
    expect(row).toMatchObject({
      name: "default",
      prefix: created.apiKeyPrefix,
      key_hash: sha256Hex(created.apiKey),
      revoked_at: null,
    });
    for (const value of Object.values(row)) {
      expect(String(value)).not.toContain(created.apiKey.slice(3));
    }

    // Owner membership for a lower-cased user.
    const members = await harness.db.withWorkspace(created.workspace.id, (tx) =>
      tx.membership.findMany({
        where: { workspaceId: created.workspace.id },
        select: { role: true, user: { select: { email: true } } },
      }),
    );
    expect(members).toEqual([{ role: "owner", user: { email: "alice@example.com" } }]);
  });

  it.skipIf(skip)("reuses the user for a second workspace, and refuses a name whose slug is taken", async () => {
    const first = await createWorkspace(harness.deps, { name: "Twin", ownerEmail: "bob@example.com" });
    const second = await createWorkspace(harness.deps, { name: "Twin Two", ownerEmail: "BOB@example.com" });
    expect(first.workspace.slug).toBe("twin");
    expect(second.workspace.slug).toBe("twin-two");
    const owners = await Promise.all(
      [first, second].map((created) =>
        harness.db.withWorkspace(created.workspace.id, (tx) =>
          tx.membership.findFirst({ where: { workspaceId: created.workspace.id }, select: { userId: true } }),
        ),
      ),
    );
    expect(owners[0]?.userId).toBeDefined();
    expect(owners[0]?.userId).toBe(owners[1]?.userId);

    // The same name, or one that slugifies the same: refused, saying what to do; nothing half made.
    for (const name of ["Twin", "TWIN!"]) {
      await expectAppError(
        createWorkspace(harness.deps, { name, ownerEmail: "carol@example.com" }),
        "CONFLICT",
        /^A workspace with the slug "twin" already exists .*: choose another name, or use that workspace \(connect-hub agent list --workspace twin\)$/,
      );
    }
    const carol = await harness.queryAsOwner("SELECT 1 FROM users WHERE email = 'carol@example.com'");
    expect(carol).toHaveLength(0);
    const twins = await harness.queryAsOwner("SELECT slug FROM workspaces WHERE slug LIKE 'twin%' ORDER BY slug");
    expect(twins).toEqual([{ slug: "twin" }, { slug: "twin-two" }]);
  });

  it.skipIf(skip)("rejects a bad email or empty name with a message saying what to pass", async () => {
    await expectAppError(createWorkspace(harness.deps, { name: "X", ownerEmail: "not-an-email" }), "BAD_REQUEST", /pass --owner/);
    await expectAppError(
      createWorkspace(harness.deps, { name: " ", ownerEmail: "a@example.com" }),
      "BAD_REQUEST",
      /must not be empty/,
    );
  });
});

describe("slugify", () => {
  it("keeps lowercase letters, digits and single dashes", () => {
    expect(slugify("Acme Corp!")).toBe("acme-corp");
    expect(slugify("  --Déjà Vu 2--  ")).toBe("deja-vu-2");
    expect(slugify("!!!")).toBe("workspace");
    expect(slugify("a".repeat(100))).toHaveLength(48);
  });
});
