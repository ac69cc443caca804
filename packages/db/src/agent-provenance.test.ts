// The upgrade path of 20261203000000_agent_provenance: agents from before it learn what created
// them from what the database still records (provisioning, the device login that created them,
// the register event in the audit log), so revoking a key or removing a member after the upgrade
// also reaches them. Run on PGlite and as a non-superuser owner on PostgreSQL, where FORCE ROW
// LEVEL SECURITY applies to the migrating user itself.
import { randomBytes, randomUUID } from "node:crypto";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, type MigrationTarget, migrate } from "./migrate.js";
import { createThrowawayPostgres, getTestAdminUrl, isPostgresReachable, withAdminClient } from "./testing.js";

const PROVENANCE = "20261203000000_agent_provenance";
const adminUrl = getTestAdminUrl();
const postgresReachable = await isPostgresReachable(adminUrl);

interface Target {
  target: MigrationTarget;
  /** As the migrating user. */
  exec(sql: string): Promise<void>;
  /** Outside row-level security, to read the result. */
  readAll(sql: string): Promise<Record<string, unknown>[]>;
  dispose(): Promise<void>;
}

const engines = [
  {
    name: "pglite",
    skip: false,
    async create(): Promise<Target> {
      const pglite = await PGlite.create();
      return {
        target: { pglite },
        exec: async (sql) => {
          await pglite.exec(sql);
        },
        readAll: async (sql) => (await pglite.query<Record<string, unknown>>(sql)).rows,
        dispose: () => pglite.close(),
      };
    },
  },
  {
    name: "postgres (non-superuser owner)",
    skip: !postgresReachable,
    async create(): Promise<Target> {
      const owner = `pc_test_owner_${randomBytes(5).toString("hex")}`;
      await withAdminClient(adminUrl, (client) =>
        client.query(`CREATE ROLE ${pg.escapeIdentifier(owner)} LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS`),
      );
      const database = await createThrowawayPostgres(adminUrl, { owner });
      const ownerUrl = new URL(database.url);
      ownerUrl.username = owner;
      ownerUrl.password = "";
      return {
        target: { databaseUrl: ownerUrl.toString() },
        async exec(sql) {
          const client = new pg.Client({ connectionString: ownerUrl.toString() });
          await client.connect();
          try {
            await client.query(sql);
          } finally {
            await client.end();
          }
        },
        readAll: (sql) => withAdminClient(database.url, async (client) => (await client.query(sql)).rows),
        async dispose() {
          await database.drop();
          await withAdminClient(adminUrl, (client) => client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(owner)}`));
        },
      };
    },
  },
];

const hex64 = () => randomBytes(32).toString("hex");

describe.each(engines)("agent provenance upgrade on $name", (engine) => {
  const disposers: (() => Promise<void>)[] = [];

  afterAll(async () => {
    for (const dispose of disposers.reverse()) await dispose();
  });

  it.skipIf(engine.skip)("backfills what created existing agents, and leaves the unknown ones unknown", async () => {
    const root = await mkdtemp(join(tmpdir(), "pc-provenance-"));
    disposers.push(() => rm(root, { recursive: true, force: true }));
    const before = join(root, "before");
    await cp(DEFAULT_MIGRATIONS_DIR, before, { recursive: true });
    // The database as it was just before this migration: drop it and everything after it.
    for (const entry of await readdir(before)) {
      if (entry >= PROVENANCE) await rm(join(before, entry), { recursive: true, force: true });
    }
    const target = await engine.create();
    disposers.push(() => target.dispose());
    await migrate(target.target, { migrationsDir: before });

    const workspace = randomUUID();
    const key = randomUUID();
    const user = randomUUID();
    const agents = { registered: randomUUID(), provisioned: randomUUID(), loggedIn: randomUUID(), unknown: randomUUID() };
    const expires = "now() + interval '30 days'";
    // As the owner, through the workspace's own context: FORCE applies to it on PostgreSQL.
    await target.exec(`
      BEGIN;
      SELECT set_config('app.workspace_id', '${workspace}', true);
      INSERT INTO workspaces (id, name, slug) VALUES ('${workspace}', 'Old', 'old-${workspace.slice(0, 8)}');
      INSERT INTO users (id, email) VALUES ('${user}', 'approver-${workspace.slice(0, 8)}@example.com');
      INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash) VALUES ('${key}', '${workspace}', 'ci', 'pc_abcd', '${hex64()}');
      INSERT INTO agents (id, workspace_id, label, token_hash, token_expires_at) VALUES
        ('${agents.registered}', '${workspace}', 'registered', '${hex64()}', ${expires}),
        ('${agents.loggedIn}', '${workspace}', 'logged-in', '${hex64()}', ${expires}),
        ('${agents.unknown}', '${workspace}', 'pruned-history', '${hex64()}', ${expires});
      INSERT INTO agents (id, workspace_id, label, token_hash, token_expires_at, provisioned_at, provisioned_ttl_seconds, provisioned_by_api_key_id)
        VALUES ('${agents.provisioned}', '${workspace}', 'provisioned', '${hex64()}', now() + interval '1 hour', now(), 3600, '${key}');
      INSERT INTO device_authorizations (workspace_id, device_code_hash, user_code_hash, label, status, expires_at, decided_at, decided_by_user_id, agent_id, consumed_at)
        VALUES ('${workspace}', '${hex64()}', '${hex64()}', 'logged-in', 'approved', now(), now(), '${user}', '${agents.loggedIn}', now());
      INSERT INTO audit_events (workspace_id, type, action, actor_type, actor_id, target)
        VALUES ('${workspace}', 'agent', 'register', 'api_key', '${key}', '${agents.registered}');
      COMMIT;
    `);

    const applied = await migrate(target.target);
    expect(applied.applied[0]).toBe(PROVENANCE);

    const rows = await target.readAll(
      `SELECT label, created_by_type, created_by_id FROM agents WHERE workspace_id = '${workspace}' ORDER BY label`,
    );
    expect(rows).toEqual([
      { label: "logged-in", created_by_type: "user", created_by_id: user },
      { label: "provisioned", created_by_type: "provisioning_key", created_by_id: key },
      { label: "pruned-history", created_by_type: null, created_by_id: null },
      { label: "registered", created_by_type: "api_key", created_by_id: key },
    ]);
    // FORCE is back on: the owner is bound by the policies again after the backfill.
    const [forced] = await target.readAll("SELECT relforcerowsecurity AS forced FROM pg_class WHERE relname = 'agents'");
    expect(forced).toEqual({ forced: true });
  });
});
