// AUDIT_RETENTION_DAYS at the database: pc_audit_prune removes old events of every workspace and
// nothing recent, while the runtime itself still cannot delete or edit a single event.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneAuditEvents } from "./audit-retention.js";
import type { Database } from "./database.js";
import { databaseTestEngines } from "./test-support/database-engines.js";
import { getTestAdminUrl, isPostgresReachable } from "./testing.js";

const adminUrl = getTestAdminUrl();
const _postgresReachable = await isPostgresReachable(adminUrl);
const DAY_MS = 86_400_000;

const engines = databaseTestEngines;

/** A workspace written by the runtime, as the hub would. */
async function createWorkspace(db: Database): Promise<string> {
  const id = randomUUID();
  await db.withWorkspace(id, (tx) =>
    tx.workspace.create({
      data: { id, name: `Retention ${id.slice(0, 8)}`, slug: `ret-${id.slice(0, 8)}` },
      select: { id: true },
    }),
  );
  return id;
}

/** Appends an event dated `ageDays` ago, as recordAuditEvent does (runtime INSERT under RLS). */
async function appendEvent(db: Database, workspaceId: string, target: string, ageDays: number): Promise<void> {
  await db.withWorkspace(workspaceId, (tx) =>
    tx.auditEvent.create({
      data: {
        workspaceId,
        type: "agent",
        action: "connect",
        actorType: "system",
        target,
        occurredAt: new Date(Date.now() - ageDays * DAY_MS),
      },
      select: { id: true },
    }),
  );
}

async function targetsOf(db: Database, workspaceId: string): Promise<string[]> {
  const rows = await db.withWorkspace(workspaceId, (tx) =>
    tx.auditEvent.findMany({ where: { workspaceId }, select: { target: true }, orderBy: { target: "asc" } }),
  );
  return rows.map((row) => row.target ?? "");
}

describe.each(engines)("audit retention on $name", (engine) => {
  let db: Database;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (engine.skip) return;
    ({ db, cleanup } = await engine.open());
  }, 60_000);

  afterAll(async () => {
    await cleanup?.();
  });

  it.skipIf(engine.skip)("prunes every workspace's events older than the retention and keeps the rest", async () => {
    const a = await createWorkspace(db);
    const b = await createWorkspace(db);
    await appendEvent(db, a, "a-400-days", 400);
    await appendEvent(db, a, "a-366-days", 366);
    await appendEvent(db, a, "a-364-days", 364);
    await appendEvent(db, a, "a-today", 0);
    await appendEvent(db, b, "b-1000-days", 1000);
    await appendEvent(db, b, "b-10-days", 10);

    // Outside any workspace context, as the hub calls it: retention is the hub's policy.
    expect(await pruneAuditEvents(db.prisma, 365)).toBe(3);
    expect(await targetsOf(db, a)).toEqual(["a-364-days", "a-today"]);
    expect(await targetsOf(db, b)).toEqual(["b-10-days"]);
    // Nothing left to prune: a second run is a no-op.
    expect(await pruneAuditEvents(db.prisma, 365)).toBe(0);
    // A shorter retention takes more, but never today's events.
    expect(await pruneAuditEvents(db.prisma, 1)).toBe(2);
    expect(await targetsOf(db, a)).toEqual(["a-today"]);
    expect(await targetsOf(db, b)).toEqual([]);
  });

  it.skipIf(engine.skip)("refuses a retention under one day or over ten years, in the wrapper and in the database", async () => {
    const a = await createWorkspace(db);
    await appendEvent(db, a, "kept", 0.5);
    for (const days of [0, -1, 1.5, 3651, Number.NaN]) {
      await expect(pruneAuditEvents(db.prisma, days), String(days)).rejects.toThrow(/from 1 to 3650/);
    }
    // Called directly, bypassing the wrapper, the function itself says no.
    for (const days of [0, -30, 3651]) {
      await expect(db.prisma.$queryRawUnsafe(`SELECT pc_audit_prune(${days})`), String(days)).rejects.toThrow(
        /between 1 and 3650 days/,
      );
    }
    await expect(db.prisma.$queryRawUnsafe("SELECT pc_audit_prune(NULL)")).rejects.toThrow(/between 1 and 3650 days/);
    expect(await targetsOf(db, a)).toEqual(["kept"]);
  });

  it.skipIf(engine.skip)("leaves the runtime unable to DELETE or UPDATE an event directly, even an old one", async () => {
    const a = await createWorkspace(db);
    await appendEvent(db, a, "ancient", 5000);
    const attempts = [
      "DELETE FROM audit_events",
      "DELETE FROM audit_events WHERE occurred_at < now() - interval '1 year'",
      "UPDATE audit_events SET occurred_at = now()",
      "TRUNCATE audit_events",
    ];
    for (const sql of attempts) {
      await expect(
        db.withWorkspace(a, (tx) => tx.$executeRawUnsafe(sql)),
        sql,
      ).rejects.toThrow(/permission denied/);
      await expect(db.prisma.$executeRawUnsafe(sql), sql).rejects.toThrow(/permission denied/);
    }
    expect(await targetsOf(db, a)).toEqual(["ancient"]);
    expect(await pruneAuditEvents(db.prisma, 3650)).toBe(1);
    expect(await targetsOf(db, a)).toEqual([]);
  });

  it.skipIf(engine.skip)("is a SECURITY DEFINER function with a fixed search_path that PUBLIC cannot execute", async () => {
    const rows = await db.prisma.$queryRaw<
      { security_definer: boolean; config: string[]; public_grants: bigint; runtime_may_execute: boolean }[]
    >`
      SELECT p.prosecdef AS security_definer, p.proconfig AS config,
             (SELECT count(*) FROM aclexplode(p.proacl) x WHERE x.grantee = 0) AS public_grants,
             has_function_privilege(current_user, p.oid, 'EXECUTE') AS runtime_may_execute
        FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'public'::regnamespace AND p.proname = 'pc_audit_prune'`;
    expect(rows).toEqual([
      { security_definer: true, config: ["search_path=pg_catalog, public"], public_grants: 0n, runtime_may_execute: true },
    ]);
  });
});
