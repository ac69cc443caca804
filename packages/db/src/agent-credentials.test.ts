import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "./database.js";
import { decideDeviceAuthorization } from "./device-authorizations.js";
import { sha256Hex } from "./hash.js";
import { createThrowawayPostgres, getTestAdminUrl, isPostgresReachable } from "./testing.js";

const postgresReachable = await isPostgresReachable(getTestAdminUrl());

const engines = [
  { name: "pglite", skip: false },
  { name: "postgres", skip: !postgresReachable },
] as const;

async function createWorkspace(db: Database): Promise<{ id: string; agentId: string; token: string }> {
  const id = randomUUID();
  const token = randomBytes(32).toString("hex");
  const agentId = await db.withWorkspace(id, async (tx) => {
    await tx.workspace.create({ data: { id, name: "w", slug: `w-${id.slice(0, 8)}` } });
    const agent = await tx.agent.create({
      data: { workspaceId: id, label: "a", tokenHash: sha256Hex(token), tokenExpiresAt: new Date(Date.now() + 86_400_000) },
      select: { id: true },
    });
    return agent.id;
  });
  return { id, agentId, token };
}

describe.each(engines)("agent credentials in the database on $name", ({ name, skip }) => {
  let db: Database;
  let drop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    if (skip) return;
    if (name === "pglite") {
      db = await openDatabase();
    } else {
      const database = await createThrowawayPostgres();
      drop = database.drop;
      db = await openDatabase({ databaseUrl: database.url, poolSize: 3 });
    }
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await drop();
  });

  it.skipIf(skip)("finds an agent by its pending token too, and says which token matched", async () => {
    const ws = await createWorkspace(db);
    const pending = randomBytes(32).toString("hex");
    const pendingExpiry = new Date("2031-01-01T00:00:00.000Z");
    await db.withWorkspace(ws.id, (tx) =>
      tx.agent.update({
        where: { id: ws.agentId },
        data: { pendingTokenHash: sha256Hex(pending), pendingTokenExpiresAt: pendingExpiry },
      }),
    );
    expect(await db.authenticateAgentTokenHash(sha256Hex(ws.token))).toMatchObject({ agentId: ws.agentId, tokenSlot: "current" });
    expect(await db.authenticateAgentTokenHash(sha256Hex(pending))).toMatchObject({
      agentId: ws.agentId,
      workspaceId: ws.id,
      tokenSlot: "pending",
      tokenExpiresAt: pendingExpiry,
    });
  });

  it.skipIf(skip)("keeps a pending login request away from every workspace until one decides it", async () => {
    const a = await createWorkspace(db);
    const b = await createWorkspace(db);
    const deviceCode = randomBytes(32).toString("hex");
    const userCodeHash = sha256Hex(`ABCD${randomBytes(2).toString("hex")}`);
    const id = await db.startDeviceAuthorization({
      deviceCodeHash: sha256Hex(deviceCode),
      userCodeHash,
      label: "laptop",
      requestedIp: "127.0.0.1",
      now: new Date(),
      expiresAt: new Date(Date.now() + 600_000),
    });
    expect(await db.findDeviceAuthorizationByCodeHash(sha256Hex(deviceCode))).toMatchObject({
      id,
      workspaceId: null,
      status: "pending",
      consumedAt: null,
    });
    expect(await db.findDeviceAuthorizationByCodeHash(sha256Hex("other"))).toBeNull();
    // The runtime sees no pending request, in no context, and cannot write one itself.
    expect(await db.prisma.deviceAuthorization.count()).toBe(0);
    expect(await db.withWorkspace(a.id, (tx) => tx.deviceAuthorization.count())).toBe(0);
    await expect(
      db.withWorkspace(
        a.id,
        (tx) =>
          tx.$executeRaw`INSERT INTO device_authorizations (device_code_hash, user_code_hash, label, expires_at)
                       VALUES (${sha256Hex("x")}, ${sha256Hex("y")}, 'x', now())`,
      ),
    ).rejects.toThrow(/row-level security|42501/);

    // Without a workspace context nothing can be decided.
    const decide = { userCodeHash, isApproved: true, now: new Date(), decidedByApiKeyId: null, decidedByUserId: null };
    expect(await decideDeviceAuthorization(db.prisma, decide)).toBeNull();
    // An expired request cannot be decided either.
    expect(
      await db.withWorkspace(a.id, (tx) => decideDeviceAuthorization(tx, { ...decide, now: new Date(Date.now() + 601_000) })),
    ).toBeNull();

    expect(await db.withWorkspace(a.id, (tx) => decideDeviceAuthorization(tx, decide))).toEqual({
      id,
      label: "laptop",
      status: "approved",
    });
    // Decided once: a second decision, from any workspace, finds nothing.
    expect(await db.withWorkspace(b.id, (tx) => decideDeviceAuthorization(tx, { ...decide, isApproved: false }))).toBeNull();
    expect(await db.withWorkspace(a.id, (tx) => tx.deviceAuthorization.count())).toBe(1);
    expect(await db.withWorkspace(b.id, (tx) => tx.deviceAuthorization.count())).toBe(0);
    expect(await db.findDeviceAuthorizationByCodeHash(sha256Hex(deviceCode))).toMatchObject({
      workspaceId: a.id,
      status: "approved",
    });
  });

  it.skipIf(skip)("records IP changes only against an agent of the same workspace", async () => {
    const a = await createWorkspace(db);
    const b = await createWorkspace(db);
    await expect(
      db.withWorkspace(a.id, (tx) =>
        tx.agentIpChange.create({ data: { workspaceId: a.id, agentId: b.agentId, previousIp: "10.0.0.1", newIp: "10.0.0.2" } }),
      ),
    ).rejects.toThrow(/foreign key|Foreign key/);
  });
});
