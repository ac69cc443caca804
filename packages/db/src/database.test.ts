import { randomBytes, randomUUID } from "node:crypto";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, RUNTIME_ROLE } from "./database.js";
import { sha256Hex } from "./hash.js";
import {
  authenticateSessionHash,
  consumeMagicLinkHash,
  createSessionHash,
  ensureUserByEmail,
  issueMagicLinkHash,
  listUserWorkspaces,
  revokeSessionHash,
} from "./identity.js";
import type { WorkspaceTx } from "./prisma.js";
import { joinShareByCodeHash } from "./sharing.js";
import { inspectTenantTables, type TenantTable } from "./tenant-tables.js";
import { databaseTestEngines } from "./test-support/database-engines.js";
import { getTestAdminUrl, isPostgresReachable } from "./testing.js";

/** The tenant tables these tests seed rows into; the catalog test keeps this list complete. */
const ALL_TENANT_TABLES = [
  "workspaces",
  "memberships",
  "api_keys",
  "agents",
  "services",
  "agent_ip_changes",
  "device_authorizations",
  "audit_events",
  "shares",
  "share_grants",
  "joined_shares",
  "public_links",
  "member_invitations",
] as const;

/**
 * Tenant tables the runtime may read and append to but never change: UPDATE and DELETE are not
 * granted at all, so the per-table write probes below expect "permission denied" for them.
 */
const APPEND_ONLY_TABLES: ReadonlySet<string> = new Set(["audit_events"]);

const adminUrl = getTestAdminUrl();
const _postgresReachable = await isPostgresReachable(adminUrl);

const engines = databaseTestEngines;

interface SeededWorkspace {
  id: string;
  apiKey: string;
  apiKeyId: string;
  agentToken: string;
  agentId: string;
  serviceId: string;
  shareCode: string;
}

async function seedWorkspace(db: Database, tag: string): Promise<SeededWorkspace> {
  const id = randomUUID();
  const apiKey = `pc_${randomBytes(16).toString("hex")}`;
  const agentToken = randomBytes(32).toString("hex");
  return db.withWorkspace(id, async (tx) => {
    await tx.workspace.create({ data: { id, name: `Workspace ${tag}`, slug: `ws-${tag}-${id.slice(0, 8)}` } });
    // The runtime cannot write users: they come from the identity function, as in the hub.
    const user = { id: await ensureUserByEmail(tx, `owner-${id}@example.com`) };
    await tx.membership.create({ data: { workspaceId: id, userId: user.id, role: "owner" } });
    const key = await tx.apiKey.create({
      data: {
        workspaceId: id,
        name: "default",
        prefix: apiKey.slice(0, 7),
        keyHash: sha256Hex(apiKey),
        createdByUserId: user.id,
      },
      select: { id: true },
    });
    const agent = await tx.agent.create({
      data: {
        workspaceId: id,
        label: `agent-${tag}`,
        tokenHash: sha256Hex(agentToken),
        tokenExpiresAt: new Date(Date.now() + 86_400_000),
      },
      select: { id: true },
    });
    const service = await tx.service.create({
      data: { workspaceId: id, agentId: agent.id, name: "prod-db", targetHost: "127.0.0.1", targetPort: 5432 },
      select: { id: true },
    });
    await tx.agentIpChange.create({
      data: { workspaceId: id, agentId: agent.id, previousIp: "127.0.0.1", newIp: "127.0.0.2" },
      select: { id: true },
    });
    // A decided (here: denied) login request: pending ones belong to no workspace yet.
    await tx.deviceAuthorization.create({
      data: {
        workspaceId: id,
        deviceCodeHash: sha256Hex(randomUUID()),
        userCodeHash: sha256Hex(randomUUID()),
        label: `login-${tag}`,
        status: "denied",
        expiresAt: new Date(Date.now() + 600_000),
        decidedAt: new Date(),
        decidedByApiKeyId: key.id,
      },
      select: { id: true },
    });
    await tx.auditEvent.create({
      data: { workspaceId: id, type: "agent", action: "register", actorType: "api_key", actorId: key.id, target: agent.id },
      select: { id: true },
    });
    const shareCode = randomBytes(8).toString("hex");
    await tx.share.create({
      data: {
        workspaceId: id,
        name: `share-${tag}`,
        codeHash: sha256Hex(shareCode),
        codeHint: shareCode.slice(0, 4),
        services: ["prod-db"],
        createdByType: "agent",
        createdById: agent.id,
        expiresAt: new Date(Date.now() + 86_400_000),
      },
      select: { id: true },
    });
    await tx.publicLink.create({
      data: {
        workspaceId: id,
        serviceName: "prod-db",
        slugHash: sha256Hex(randomUUID()),
        slugHint: "abcd",
        createdByType: "agent",
        createdById: agent.id,
        expiresAt: new Date(Date.now() + 86_400_000),
      },
      select: { id: true },
    });
    await tx.memberInvitation.create({
      data: {
        workspaceId: id,
        email: `invitee-${tag}@example.com`,
        role: "member",
        invitedByUserId: randomUUID(),
        expiresAt: new Date(Date.now() + 86_400_000),
      },
      select: { id: true },
    });
    return { id, apiKey, apiKeyId: key.id, agentToken, agentId: agent.id, serviceId: service.id, shareCode };
  });
}

/**
 * Each workspace's agent joins the other's share through the real join function, so that
 * share_grants and joined_shares hold rows for both workspaces, each pointing across.
 */
async function joinEachOthersShares(db: Database, a: SeededWorkspace, b: SeededWorkspace): Promise<void> {
  for (const [joiner, owner] of [
    [a, b],
    [b, a],
  ] as const) {
    const joined = await db.withWorkspace(joiner.id, (tx) =>
      joinShareByCodeHash(tx, { codeHash: sha256Hex(owner.shareCode), agentId: joiner.agentId, now: new Date() }),
    );
    expect(joined?.ownerWorkspaceId).toBe(owner.id);
  }
}

function quoteTable(name: string): string {
  return name
    .split(".")
    .map((part) => pg.escapeIdentifier(part))
    .join(".");
}

type RawClient = Pick<WorkspaceTx, "$queryRawUnsafe" | "$executeRawUnsafe">;

async function readWorkspaceIds(tx: RawClient, table: TenantTable): Promise<string[]> {
  // Raw SQL on purpose: no application-side where clause, only the policies decide.
  const rows = await tx.$queryRawUnsafe<{ ws: string }[]>(
    `SELECT ${pg.escapeIdentifier(table.keyColumn)}::text AS ws FROM ${quoteTable(table.name)}`,
  );
  return rows.map((row) => row.ws);
}

/** Row counts of every tenant table as seen from one workspace's context. */
async function countRowsByTable(db: Database, workspaceId: string, tables: TenantTable[]): Promise<Record<string, number>> {
  return db.withWorkspace(workspaceId, async (tx) => {
    const counts: Record<string, number> = {};
    for (const table of tables) counts[table.name] = (await readWorkspaceIds(tx, table)).length;
    return counts;
  });
}

class Rollback extends Error {}

/** Runs fn in A's context and always rolls back, so destructive probes leave no trace. */
async function probeAndRollBack(db: Database, workspaceId: string, fn: (tx: WorkspaceTx) => Promise<void>): Promise<void> {
  await expect(
    db.withWorkspace(workspaceId, async (tx) => {
      await fn(tx);
      throw new Rollback();
    }),
  ).rejects.toBeInstanceOf(Rollback);
}

async function expectRlsViolation(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toThrow(/row-level security|violates row-level|42501/);
}

async function expectPermissionDenied(promise: Promise<unknown>, table: string): Promise<void> {
  await expect(promise, table).rejects.toThrow(/permission denied/);
}

describe.each(engines)("database on $name", (engine) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  /** Read from the catalog, not listed by hand: a table added later is covered without edits. */
  let tenantTables: TenantTable[];

  beforeAll(async () => {
    if (engine.skip) return;
    ({ db, cleanup } = await engine.open());
    a = await seedWorkspace(db, "a");
    b = await seedWorkspace(db, "b");
    await joinEachOthersShares(db, a, b);
    ({ tables: tenantTables } = await inspectTenantTables((sql) => db.prisma.$queryRawUnsafe(sql)));
  }, 60_000);

  afterAll(async () => {
    await cleanup?.();
  });

  it.skipIf(engine.skip)("runs application queries as the confined runtime role", async () => {
    const rows = await db.prisma.$queryRaw<{ role: string; is_superuser: boolean; bypasses_rls: boolean; owned: bigint }[]>`
      SELECT current_user::text AS role, r.rolsuper AS is_superuser, r.rolbypassrls AS bypasses_rls,
             (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relowner = r.oid) AS owned
        FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`;
    expect(rows).toEqual([{ role: engine.runtimeRole ?? RUNTIME_ROLE, is_superuser: false, bypasses_rls: false, owned: 0n }]);
  });

  it.skipIf(engine.skip)("stays confined after RESET ROLE only when the runtime logs in as its own role", async () => {
    // SET LOCAL: whatever it changes ends with this transaction, so the pooled connection is clean.
    const rows = await db.withWorkspace(a.id, async (tx) => {
      await tx.$executeRawUnsafe("SET LOCAL ROLE NONE");
      return tx.$queryRaw<{ role: string; others: bigint }[]>`
        SELECT current_user::text AS role, (SELECT count(*) FROM services WHERE workspace_id <> ${a.id}::uuid) AS others`;
    });
    if (engine.runtimeRole !== undefined) {
      expect(rows).toEqual([{ role: engine.runtimeRole, others: 0n }]);
    } else {
      // With `-c role=pc_runtime` (and on PGlite) the session user is the owner: this is why the
      // README recommends DATABASE_RUNTIME_URL in production, and why no SQL text comes from input.
      expect(rows[0]?.role).not.toBe(RUNTIME_ROLE);
    }
  });

  it.skipIf(engine.skip)("denies the runtime role schema changes and the migrations ledger", async () => {
    await expect(db.prisma.$executeRawUnsafe("CREATE TABLE pc_sneaky (id int)")).rejects.toThrow(/permission denied/);
    await expect(db.prisma.$queryRawUnsafe("SELECT * FROM _pc_migrations")).rejects.toThrow(/permission denied/);
    await expect(db.prisma.$executeRawUnsafe("ALTER TABLE services NO FORCE ROW LEVEL SECURITY")).rejects.toThrow(
      /must be owner|permission denied/,
    );
  });

  it.skipIf(engine.skip)("forces row-level security on every table with a workspace_id, and on workspaces", async () => {
    // The same check openDatabase runs before serving; tenant-tables.test.ts shows it catching a
    // table added without ENABLE, FORCE or the policy.
    const report = await inspectTenantTables((sql) => db.prisma.$queryRawUnsafe(sql));
    expect(report.problems).toEqual([]);
    // A new tenant table must be seeded above, so the behaviour tests below exercise it too.
    expect(report.tables.map((table) => table.name)).toEqual([...ALL_TENANT_TABLES].sort());
    expect(tenantTables.map((table) => table.name)).toEqual(report.tables.map((table) => table.name));
  });

  it.skipIf(engine.skip)("keeps EXECUTE on the credential lookups away from PUBLIC", async () => {
    const rows = await db.prisma.$queryRaw<
      { name: string; security_definer: boolean; public_grants: bigint; config: string[] }[]
    >`
      SELECT p.proname::text AS name, p.prosecdef AS security_definer, p.proconfig AS config,
             (SELECT count(*) FROM aclexplode(p.proacl) x WHERE x.grantee = 0) AS public_grants
        FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'pc_auth_%' ORDER BY 1`;
    expect(rows).toEqual([
      { name: "pc_auth_agent_token", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_api_key", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      {
        name: "pc_auth_consume_magic_link",
        security_definer: true,
        public_grants: 0n,
        config: ["search_path=pg_catalog, public"],
      },
      { name: "pc_auth_create_session", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_device_code", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_device_decide", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_device_start", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_ensure_user", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_issue_magic_link", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_revoke_session", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_session", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
      { name: "pc_auth_user_workspaces", security_definer: true, public_grants: 0n, config: ["search_path=pg_catalog, public"] },
    ]);
  });

  it.skipIf(engine.skip)("shows zero rows of every tenant table without a workspace context", async () => {
    for (const table of tenantTables) {
      const rows = await db.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM ${quoteTable(table.name)}`);
      expect(rows[0]?.n, table.name).toBe(0n);
      // Writes without a context find nothing to touch either.
      const key = pg.escapeIdentifier(table.keyColumn);
      const update = `UPDATE ${quoteTable(table.name)} SET ${key} = ${key}`;
      if (APPEND_ONLY_TABLES.has(table.name)) {
        await expectPermissionDenied(db.prisma.$executeRawUnsafe(update), table.name);
        continue;
      }
      expect(await db.prisma.$executeRawUnsafe(update), table.name).toBe(0);
    }
    expect(await db.prisma.service.findMany({ select: { id: true } })).toEqual([]);
    // A finished withWorkspace must not leave its context behind on the (pooled) connection.
    for (let i = 0; i < 10; i += 1) {
      await db.withWorkspace(a.id, (tx) => tx.service.count());
    }
    expect(await db.prisma.agent.count()).toBe(0);
    const leftover = await db.prisma.$queryRaw<{ ws: string | null }[]>`SELECT current_setting('app.workspace_id', true) AS ws`;
    expect(leftover[0]?.ws ?? "").toBe("");
  });

  it.skipIf(engine.skip)("shows workspace A only its own rows in every tenant table", async () => {
    await db.withWorkspace(a.id, async (tx) => {
      for (const table of tenantTables) {
        const ids = await readWorkspaceIds(tx, table);
        // Every tenant table must be seeded for A and B, or the checks below would prove nothing.
        expect(ids.length, table.name).toBeGreaterThan(0);
        expect(new Set(ids), table.name).toEqual(new Set([a.id]));
      }
      // Even a lookup by B's primary key finds nothing.
      expect(await tx.service.findUnique({ where: { id: b.serviceId }, select: { id: true } })).toBeNull();
      expect(await tx.agent.findUnique({ where: { id: b.agentId }, select: { id: true } })).toBeNull();
    });
  });

  it.skipIf(engine.skip)("refuses, in every tenant table, an INSERT from A's context of a row carrying B's id", async () => {
    const before = await countRowsByTable(db, b.id, tenantTables);
    for (const table of tenantTables) {
      const name = quoteTable(table.name);
      // A copy of one of A's rows with a fresh id and B's workspace id: valid in every other
      // respect, so the only thing that can stop it is the policy's WITH CHECK.
      const copyIntoB = `INSERT INTO ${name}
        SELECT (jsonb_populate_record(NULL::${name},
                  to_jsonb(x)
                  || CASE WHEN (to_jsonb(x) -> 'id') IS NOT NULL THEN jsonb_build_object('id', gen_random_uuid()) ELSE '{}'::jsonb END
                  || jsonb_build_object($1::text, $2::uuid))).*
          FROM ${name} AS x LIMIT 1`;
      await expectRlsViolation(db.withWorkspace(a.id, (tx) => tx.$executeRawUnsafe(copyIntoB, table.keyColumn, b.id)));
    }
    expect(await countRowsByTable(db, b.id, tenantTables)).toEqual(before);
  });

  it.skipIf(engine.skip)("touches 0 of B's rows in every tenant table with UPDATE or DELETE from A's context", async () => {
    const beforeA = await countRowsByTable(db, a.id, tenantTables);
    const beforeB = await countRowsByTable(db, b.id, tenantTables);
    for (const table of tenantTables) {
      const name = quoteTable(table.name);
      const key = pg.escapeIdentifier(table.keyColumn);
      if (APPEND_ONLY_TABLES.has(table.name)) {
        // Each denied statement aborts its transaction, so each one gets its own.
        for (const statement of [
          `UPDATE ${name} SET ${key} = ${key} WHERE ${key} = '${b.id}'::uuid`,
          `DELETE FROM ${name} WHERE ${key} = '${b.id}'::uuid`,
          `UPDATE ${name} SET ${key} = ${key}`,
          `DELETE FROM ${name}`,
          `UPDATE ${name} SET ${key} = '${b.id}'::uuid`,
        ]) {
          await expectPermissionDenied(
            db.withWorkspace(a.id, (tx) => tx.$executeRawUnsafe(statement)),
            `${table.name}: ${statement}`,
          );
        }
        continue;
      }
      await db.withWorkspace(a.id, async (tx) => {
        expect(await tx.$executeRawUnsafe(`UPDATE ${name} SET ${key} = ${key} WHERE ${key} = $1::uuid`, b.id), table.name).toBe(
          0,
        );
        expect(await tx.$executeRawUnsafe(`DELETE FROM ${name} WHERE ${key} = $1::uuid`, b.id), table.name).toBe(0);
      });
      // No where clause at all: the statements reach A's rows and only those.
      await probeAndRollBack(db, a.id, async (tx) => {
        expect(await tx.$executeRawUnsafe(`UPDATE ${name} SET ${key} = ${key}`), table.name).toBe(beforeA[table.name]);
        expect(await tx.$executeRawUnsafe(`DELETE FROM ${name}`), table.name).toBe(beforeA[table.name]);
      });
      // Nor can A hand its rows over to B.
      await expectRlsViolation(
        db.withWorkspace(a.id, (tx) => tx.$executeRawUnsafe(`UPDATE ${name} SET ${key} = $1::uuid`, b.id)),
      );
    }
    await db.withWorkspace(a.id, async (tx) => {
      expect(await tx.$executeRaw`UPDATE workspaces SET name = 'pwned' WHERE id = ${b.id}::uuid`).toBe(0);
      expect((await tx.service.updateMany({ where: { id: b.serviceId }, data: { targetPort: 1 } })).count).toBe(0);
      expect((await tx.agent.deleteMany({ where: { id: b.agentId } })).count).toBe(0);
    });
    expect(await countRowsByTable(db, a.id, tenantTables)).toEqual(beforeA);
    expect(await countRowsByTable(db, b.id, tenantTables)).toEqual(beforeB);
    await db.withWorkspace(b.id, async (tx) => {
      const service = await tx.service.findUnique({ where: { id: b.serviceId }, select: { targetPort: true } });
      expect(service?.targetPort).toBe(5432);
      const workspace = await tx.workspace.findUnique({ where: { id: b.id }, select: { name: true } });
      expect(workspace?.name).toBe("Workspace b");
    });
  });

  it.skipIf(engine.skip)("rejects inserting rows into B, or moving A's rows to B, from A's context", async () => {
    const attempts: ((tx: WorkspaceTx) => Promise<unknown>)[] = [
      (tx) =>
        tx.workspace.create({
          data: { id: b.id === a.id ? randomUUID() : randomUUID(), name: "x", slug: `x-${randomUUID().slice(0, 8)}` },
        }),
      (tx) => tx.$executeRaw`INSERT INTO memberships (workspace_id, user_id, role)
                              SELECT ${b.id}::uuid, id, 'member' FROM users LIMIT 1`,
      (tx) => tx.apiKey.create({ data: { workspaceId: b.id, name: "x", prefix: "pc_xxxx", keyHash: sha256Hex(randomUUID()) } }),
      (tx) =>
        tx.agent.create({
          data: { workspaceId: b.id, label: "x", tokenHash: sha256Hex(randomUUID()), tokenExpiresAt: new Date() },
        }),
      (tx) => tx.service.create({ data: { workspaceId: b.id, agentId: b.agentId, name: "x", targetHost: "h", targetPort: 1 } }),
      (tx) => tx.$executeRaw`UPDATE services SET workspace_id = ${b.id}::uuid WHERE id = ${a.serviceId}::uuid`,
      (tx) => tx.$executeRaw`UPDATE agents SET workspace_id = ${b.id}::uuid WHERE id = ${a.agentId}::uuid`,
    ];
    for (const attempt of attempts) {
      await expectRlsViolation(db.withWorkspace(a.id, attempt));
    }
  });

  it.skipIf(engine.skip)("refuses a service of A that points at B's agent, even though foreign keys ignore RLS", async () => {
    await expect(
      db.withWorkspace(a.id, (tx) =>
        tx.service.create({ data: { workspaceId: a.id, agentId: b.agentId, name: "cross", targetHost: "h", targetPort: 1 } }),
      ),
    ).rejects.toThrow(/foreign key|Foreign key/);
  });

  it.skipIf(engine.skip)(
    "keeps the audit log append-only for the runtime: SELECT and INSERT, never UPDATE or DELETE",
    async () => {
      const rows = await db.prisma.$queryRaw<{ privilege: string; granted: boolean }[]>`
      SELECT p.privilege, has_table_privilege(current_user, 'audit_events', p.privilege) AS granted
        FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(privilege)`;
      expect(Object.fromEntries(rows.map((row) => [row.privilege, row.granted]))).toEqual({
        SELECT: true,
        INSERT: true,
        UPDATE: false,
        DELETE: false,
        TRUNCATE: false,
      });
      // In A's own context, on A's own row: still refused, by privilege rather than policy.
      const own = await db.withWorkspace(a.id, (tx) =>
        tx.auditEvent.findFirst({ where: { workspaceId: a.id }, select: { id: true, action: true } }),
      );
      expect(own?.action).toBe("register");
      const id = own?.id ?? "";
      const attempts: ((tx: WorkspaceTx) => Promise<unknown>)[] = [
        (tx) => tx.$executeRaw`UPDATE audit_events SET action = 'nothing-happened' WHERE id = ${id}::uuid`,
        (tx) => tx.$executeRaw`DELETE FROM audit_events WHERE id = ${id}::uuid`,
        (tx) => tx.$executeRaw`TRUNCATE audit_events`,
        (tx) => tx.auditEvent.update({ where: { id }, data: { reason: "edited" } }),
        (tx) => tx.auditEvent.deleteMany({ where: { workspaceId: a.id } }),
      ];
      for (const attempt of attempts) {
        await expectPermissionDenied(db.withWorkspace(a.id, attempt), "audit_events");
      }
      expect(
        await db.withWorkspace(a.id, (tx) => tx.auditEvent.findUnique({ where: { id }, select: { action: true, reason: true } })),
      ).toEqual({ action: "register", reason: null });
    },
  );

  it.skipIf(engine.skip)("refuses a workspace id that is not a UUID", async () => {
    await expect(db.withWorkspace("' OR true --", async () => 1)).rejects.toThrow(/UUID/);
  });

  it.skipIf(engine.skip)(
    "finds an API key by hash, stamps last_used_at, and finds nothing for unknown or revoked keys",
    async () => {
      const before = new Date(Date.now() - 1_000);
      expect(await db.authenticateApiKeyHash(sha256Hex(a.apiKey))).toEqual({ apiKeyId: a.apiKeyId, workspaceId: a.id });
      const stamped = await db.withWorkspace(a.id, (tx) =>
        tx.apiKey.findUnique({ where: { id: a.apiKeyId }, select: { lastUsedAt: true } }),
      );
      expect(stamped?.lastUsedAt?.getTime()).toBeGreaterThanOrEqual(before.getTime());

      expect(await db.authenticateApiKeyHash(sha256Hex("pc_unknown"))).toBeNull();
      expect(await db.authenticateApiKeyHash("not-a-hash")).toBeNull();

      const revokedKey = `pc_${randomBytes(16).toString("hex")}`;
      await db.withWorkspace(b.id, (tx) =>
        tx.apiKey.create({
          data: {
            workspaceId: b.id,
            name: "old",
            prefix: revokedKey.slice(0, 7),
            keyHash: sha256Hex(revokedKey),
            revokedAt: new Date(),
          },
        }),
      );
      expect(await db.authenticateApiKeyHash(sha256Hex(revokedKey))).toBeNull();
    },
  );

  it.skipIf(engine.skip)("finds an agent by token hash with its expiry and revocation", async () => {
    const found = await db.authenticateAgentTokenHash(sha256Hex(b.agentToken));
    expect(found).toMatchObject({
      agentId: b.agentId,
      workspaceId: b.id,
      label: "agent-b",
      clientType: "cli",
      revokedAt: null,
      tokenSlot: "current",
    });
    expect(found?.tokenExpiresAt).toBeInstanceOf(Date);
    expect(await db.authenticateAgentTokenHash(sha256Hex("0".repeat(64)))).toBeNull();

    const token = randomBytes(32).toString("hex");
    const revokedAt = new Date("2030-01-01T00:00:00.000Z");
    await db.withWorkspace(a.id, (tx) =>
      tx.agent.create({
        data: { workspaceId: a.id, label: "gone", tokenHash: sha256Hex(token), tokenExpiresAt: new Date(), revokedAt },
      }),
    );
    expect((await db.authenticateAgentTokenHash(sha256Hex(token)))?.revokedAt).toEqual(revokedAt);
  });

  it.skipIf(engine.skip)(
    "never lets 200 concurrent transactions of A and B see each other's rows",
    async () => {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => {
          const expected = i % 2 === 0 ? a.id : b.id;
          return db.withWorkspace(expected, async (tx) => {
            const seen: string[] = [];
            const settings: (string | null)[] = [];
            for (let step = 0; step < 3; step += 1) {
              const [setting] = await tx.$queryRaw<
                { ws: string | null }[]
              >`SELECT current_setting('app.workspace_id', true) AS ws`;
              settings.push(setting?.ws ?? null);
              // Hand the event loop to the other 199 callers mid-transaction: if their statements
              // could run on this transaction's session, this is where they would.
              await yieldToEventLoop();
              for (const table of tenantTables) seen.push(...(await readWorkspaceIds(tx, table)));
            }
            return { expected, seen, settings };
          });
        }),
      );
      for (const { expected, seen, settings } of results) {
        expect(settings).toEqual([expected, expected, expected]);
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.every((ws) => ws === expected)).toBe(true);
      }
    },
    60_000,
  );

  it.skipIf(engine.skip)("never runs a context-free query inside another caller's open transaction", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let signalEntered = () => {};
    const entered = new Promise<void>((resolve) => {
      signalEntered = resolve;
    });
    const inside = db.withWorkspace(a.id, async (tx) => {
      signalEntered();
      await gate;
      return tx.service.count();
    });
    await entered;
    // Issued while A's transaction is open. On PGlite's single session it must wait for that
    // transaction instead of running in it, where it would inherit A's context and see A's rows.
    const outside = Promise.all([
      db.prisma.service.count(),
      db.prisma.agent.count(),
      db.authenticateApiKeyHash(sha256Hex(b.apiKey)),
    ]);
    await yieldToEventLoop();
    release();
    const [servicesOutside, agentsOutside, keyB] = await outside;
    expect(servicesOutside).toBe(0);
    expect(agentsOutside).toBe(0);
    expect(keyB).toEqual({ apiKeyId: b.apiKeyId, workspaceId: b.id });
    expect(await inside).toBeGreaterThan(0);
  });

  it.skipIf(engine.skip)("answers ping", async () => {
    await expect(db.ping()).resolves.toBeUndefined();
  });

  it.skipIf(engine.skip)("shows the runtime a user only through a membership of the current workspace", async () => {
    const emailsSeenBy = (workspaceId: string) =>
      db.withWorkspace(workspaceId, async (tx) =>
        (await tx.$queryRaw<{ email: string }[]>`SELECT email FROM users ORDER BY email`).map((row) => row.email),
      );
    expect(await emailsSeenBy(a.id)).toEqual([`owner-${a.id}@example.com`]);
    expect(await emailsSeenBy(b.id)).toEqual([`owner-${b.id}@example.com`]);
    expect(await db.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM users`).toEqual([{ n: 0n }]);
    // A user with no membership at all is visible nowhere.
    const loner = await ensureUserByEmail(db.prisma, `loner-${randomUUID()}@example.com`);
    expect(await db.withWorkspace(a.id, (tx) => tx.user.findUnique({ where: { id: loner }, select: { id: true } }))).toBeNull();
    // ensure_user returns the existing id for a known address instead of a duplicate.
    expect(await ensureUserByEmail(db.prisma, `owner-${a.id}@example.com`)).toBe(
      (await db.withWorkspace(a.id, (tx) => tx.membership.findFirst({ where: { workspaceId: a.id }, select: { userId: true } })))
        ?.userId,
    );
  });

  it.skipIf(engine.skip)(
    "denies the runtime every direct write to users and any access to sessions and magic links",
    async () => {
      const denied = /permission denied/;
      await expect(db.prisma.$executeRaw`INSERT INTO users (email) VALUES ('intruder@example.com')`).rejects.toThrow(denied);
      await expect(db.withWorkspace(a.id, (tx) => tx.$executeRaw`UPDATE users SET email = 'pwned@example.com'`)).rejects.toThrow(
        denied,
      );
      await expect(db.withWorkspace(a.id, (tx) => tx.$executeRaw`DELETE FROM users`)).rejects.toThrow(denied);
      for (const table of ["sessions", "magic_links"]) {
        await expect(db.prisma.$queryRawUnsafe(`SELECT count(*) FROM ${table}`), table).rejects.toThrow(denied);
        await expect(
          db.withWorkspace(a.id, (tx) => tx.$queryRawUnsafe(`SELECT count(*) FROM ${table}`)),
          table,
        ).rejects.toThrow(denied);
      }
    },
  );

  it.skipIf(engine.skip)(
    "runs sign-in through the identity functions: a link once, a session until idle or revoked",
    async () => {
      const now = new Date("2031-03-01T12:00:00.000Z");
      const email = `signin-${randomUUID()}@example.com`;
      const linkHash = sha256Hex(randomUUID());
      await issueMagicLinkHash(db.prisma, { email, tokenHash: linkHash, now, expiresAt: new Date(now.getTime() + 900_000) });
      const signIn = await consumeMagicLinkHash(db.prisma, linkHash, new Date(now.getTime() + 1_000));
      expect(signIn).toMatchObject({ email, isFirstSignIn: true });
      expect(await consumeMagicLinkHash(db.prisma, linkHash, new Date(now.getTime() + 2_000))).toBeNull();

      const expiringHash = sha256Hex(randomUUID());
      await issueMagicLinkHash(db.prisma, { email, tokenHash: expiringHash, now, expiresAt: new Date(now.getTime() + 900_000) });
      expect(await consumeMagicLinkHash(db.prisma, expiringHash, new Date(now.getTime() + 900_000))).toBeNull();

      const userId = signIn?.userId ?? "";
      expect(await listUserWorkspaces(db.prisma, userId)).toEqual([]);
      const sessionHash = sha256Hex(randomUUID());
      const sessionId = await createSessionHash(db.prisma, { userId, tokenHash: sessionHash, now, pruneBefore: new Date(0) });
      const window = (at: number) => ({
        now: new Date(at),
        activeAfter: new Date(at - 30 * 86_400_000),
        renewBefore: new Date(at - 60_000),
      });
      expect(await authenticateSessionHash(db.prisma, sessionHash, window(now.getTime() + 30_000))).toEqual({
        sessionId,
        userId,
        email,
        isRenewed: false,
      });
      expect((await authenticateSessionHash(db.prisma, sessionHash, window(now.getTime() + 120_000)))?.isRenewed).toBe(true);
      expect(await authenticateSessionHash(db.prisma, sessionHash, window(now.getTime() + 120_000 + 30 * 86_400_000))).toBeNull();
      expect(await revokeSessionHash(db.prisma, sessionHash, now)).toBe(true);
      expect(await authenticateSessionHash(db.prisma, sessionHash, window(now.getTime() + 180_000))).toBeNull();
      expect(await revokeSessionHash(db.prisma, sessionHash, now)).toBe(false);
    },
  );
});
