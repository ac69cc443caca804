// The upgrade path of 20261203040000_e2e_keys_and_policies: rows from before it take the defaults
// (no agent key, "preferred" policies), and the CHECK constraints hold the new columns to the
// shapes the API validates, whatever a caller writes.
import { randomBytes, randomUUID } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, type MigrationTarget, migrate } from "./migrate.js";
import { createThrowawayPostgres, getTestAdminUrl, isPostgresReachable } from "./testing.js";

const E2E_MIGRATION = "20261203040000_e2e_keys_and_policies";
const adminUrl = getTestAdminUrl();
const postgresReachable = await isPostgresReachable(adminUrl);

interface Target {
  target: MigrationTarget;
  /** As the migrating user (a superuser on both engines here, so outside row-level security). */
  query(sql: string): Promise<Record<string, unknown>[]>;
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
        query: async (sql) => (await pglite.query<Record<string, unknown>>(sql)).rows,
        dispose: () => pglite.close(),
      };
    },
  },
  {
    name: "postgres",
    skip: !postgresReachable,
    async create(): Promise<Target> {
      const database = await createThrowawayPostgres(adminUrl);
      return {
        target: { databaseUrl: database.url },
        async query(sql) {
          const client = new pg.Client({ connectionString: database.url });
          await client.connect();
          try {
            return (await client.query(sql)).rows;
          } finally {
            await client.end();
          }
        },
        dispose: () => database.drop(),
      };
    },
  },
];

/** A key in the agents' text form: pcpk_ and 32 bytes of base64url. */
const publicKey = () => `pcpk_${randomBytes(32).toString("base64url")}`;

describe.each(engines)("end-to-end columns on $name", (engine) => {
  const disposers: (() => Promise<void>)[] = [];

  afterAll(async () => {
    for (const dispose of disposers.reverse()) await dispose();
  });

  it.skipIf(engine.skip)("gives rows from before the migration the defaults, then checks every new value", async () => {
    const root = await mkdtemp(join(tmpdir(), "pc-e2e-migrations-"));
    disposers.push(() => rm(root, { recursive: true, force: true }));
    const migrationsDir = join(root, "migrations");
    // Everything before this migration (and nothing after it), as a hub of the previous release had.
    await cp(DEFAULT_MIGRATIONS_DIR, migrationsDir, {
      recursive: true,
      filter: (source) => {
        const folder = relative(DEFAULT_MIGRATIONS_DIR, source).split(sep)[0] ?? "";
        return folder === "" || folder < E2E_MIGRATION;
      },
    });
    const target = await engine.create();
    disposers.push(() => target.dispose());
    const { query } = target;
    await migrate(target.target, { migrationsDir });

    const workspaceId = randomUUID();
    const agentId = randomUUID();
    await query(`INSERT INTO workspaces (id, name, slug) VALUES ('${workspaceId}', 'Before', 'before-e2e')`);
    await query(
      `INSERT INTO agents (id, workspace_id, label, token_hash, token_expires_at)
       VALUES ('${agentId}', '${workspaceId}', 'old-agent', '${randomBytes(32).toString("hex")}', now() + interval '1 day')`,
    );
    await query(
      `INSERT INTO services (workspace_id, agent_id, name, target_host, target_port)
       VALUES ('${workspaceId}', '${agentId}', 'old-db', '127.0.0.1', 5432)`,
    );

    await cp(join(DEFAULT_MIGRATIONS_DIR, E2E_MIGRATION), join(migrationsDir, E2E_MIGRATION), { recursive: true });
    expect((await migrate(target.target, { migrationsDir })).applied).toEqual([E2E_MIGRATION]);

    expect(await query(`SELECT e2e_public_key FROM agents WHERE id = '${agentId}'`)).toEqual([{ e2e_public_key: null }]);
    expect(await query(`SELECT e2e_policy FROM services WHERE agent_id = '${agentId}'`)).toEqual([{ e2e_policy: "preferred" }]);
    expect(await query(`SELECT e2e_policy FROM workspaces WHERE id = '${workspaceId}'`)).toEqual([{ e2e_policy: "preferred" }]);

    const key = publicKey();
    await query(`UPDATE agents SET e2e_public_key = '${key}' WHERE id = '${agentId}'`);
    const body = key.slice(5);
    for (const malformed of [
      `pcsk_${body}`,
      body,
      `pcpk_${body.slice(0, 42)}`,
      `pcpk_${body}A`,
      // A last character with stray low bits: a second text for one key.
      `pcpk_${body.slice(0, 42)}B`,
      `pcpk_${body.slice(0, 42)}=`,
    ]) {
      await expect(query(`UPDATE agents SET e2e_public_key = '${malformed}' WHERE id = '${agentId}'`)).rejects.toThrow(
        /agents_e2e_public_key_check/,
      );
    }
    for (const policy of ["required", "preferred", "off"]) {
      await query(`UPDATE services SET e2e_policy = '${policy}' WHERE agent_id = '${agentId}'`);
    }
    await expect(query(`UPDATE services SET e2e_policy = 'maybe' WHERE agent_id = '${agentId}'`)).rejects.toThrow(
      /services_e2e_policy_check/,
    );
    await query(`UPDATE workspaces SET e2e_policy = 'required' WHERE id = '${workspaceId}'`);
    // A workspace cannot switch encryption off for its services.
    await expect(query(`UPDATE workspaces SET e2e_policy = 'off' WHERE id = '${workspaceId}'`)).rejects.toThrow(
      /workspaces_e2e_policy_check/,
    );
    await expect(query(`UPDATE services SET e2e_policy = NULL WHERE agent_id = '${agentId}'`)).rejects.toThrow(/null/i);
  });
});
