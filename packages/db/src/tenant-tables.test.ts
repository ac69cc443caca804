import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { migrate } from "./migrate.js";
import { describeIsolationExpression, inspectTenantTables, type TenantTablesReport } from "./tenant-tables.js";
import { createThrowawayPostgres, getTestAdminUrl, isPostgresReachable } from "./testing.js";

const adminUrl = getTestAdminUrl();
const postgresReachable = await isPostgresReachable(adminUrl);

/** A migrated database reached as its owner, where a test can add the tables a careless migration would. */
interface OwnedDatabase {
  /** Runs SQL as the owning (migrating) user. */
  exec(sql: string): Promise<void>;
  inspect(): Promise<TenantTablesReport>;
  /** Opens the database the way the hub does, to see whether it agrees to serve. */
  open(): Promise<{ close(): Promise<void> }>;
  dispose(): Promise<void>;
}

const engines: { name: string; skip: boolean; create(): Promise<OwnedDatabase> }[] = [
  {
    name: "pglite",
    skip: false,
    async create() {
      // On disk, so the hub's openDatabase can reopen the very database the test altered.
      const dataDir = await mkdtemp(join(tmpdir(), "pc-tenant-tables-"));
      let pglite: PGlite | undefined = await PGlite.create({ dataDir });
      await migrate({ pglite });
      const session = async (): Promise<PGlite> => {
        pglite ??= await PGlite.create({ dataDir });
        return pglite;
      };
      return {
        async exec(sql) {
          await (await session()).exec(sql);
        },
        async inspect() {
          const owner = await session();
          return inspectTenantTables(async (sql) => (await owner.query<Record<string, unknown>>(sql)).rows);
        },
        async open() {
          // PGlite allows one process-wide session per data directory: hand it over.
          await pglite?.close();
          pglite = undefined;
          return openDatabase({ dataDir });
        },
        async dispose() {
          await pglite?.close();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    skip: !postgresReachable,
    async create() {
      const database = await createThrowawayPostgres(adminUrl);
      const owner = new pg.Client({ connectionString: database.url });
      try {
        await migrate({ databaseUrl: database.url });
        await owner.connect();
      } catch (error) {
        await owner.end().catch(() => undefined);
        await database.drop();
        throw error;
      }
      return {
        async exec(sql) {
          await owner.query(sql);
        },
        inspect: () => inspectTenantTables(async (sql) => (await owner.query(sql)).rows),
        open: () => openDatabase({ databaseUrl: database.url, poolSize: 1 }),
        async dispose() {
          await owner.end();
          await database.drop();
        },
      };
    },
  },
];

const ISOLATION = describeIsolationExpression("workspace_id");

describe.each(engines)("inspectTenantTables on $name", (engine) => {
  let owned: OwnedDatabase;

  beforeAll(async () => {
    if (engine.skip) return;
    owned = await engine.create();
  }, 60_000);

  afterAll(async () => {
    await owned?.dispose();
  });

  function problemsOf(report: TenantTablesReport, table: string): string[] {
    return report.problems.filter((problem) => problem.table === table).map((problem) => problem.problem);
  }

  it.skipIf(engine.skip)("passes the shipped migrations", async () => {
    const report = await owned.inspect();
    expect(report.problems).toEqual([]);
    expect(report.tables).toContainEqual({ name: "workspaces", keyColumn: "id", kind: "r" });
    expect(report.tables).toContainEqual({ name: "services", keyColumn: "workspace_id", kind: "r" });
  });

  it.skipIf(engine.skip)("flags a new table with a workspace_id until RLS is enabled, forced and has the policy", async () => {
    await owned.exec(`CREATE TABLE "notes" ("id" uuid PRIMARY KEY, "workspace_id" uuid NOT NULL, "body" text)`);
    expect(problemsOf(await owned.inspect(), "notes")).toEqual([
      "row-level security is not enabled",
      "row-level security is not forced, so the owner bypasses it",
      `no policy FOR ALL with USING and WITH CHECK ${ISOLATION}`,
    ]);

    await owned.exec(`ALTER TABLE "notes" ENABLE ROW LEVEL SECURITY`);
    expect(problemsOf(await owned.inspect(), "notes")).toEqual([
      "row-level security is not forced, so the owner bypasses it",
      `no policy FOR ALL with USING and WITH CHECK ${ISOLATION}`,
    ]);

    await owned.exec(`ALTER TABLE "notes" FORCE ROW LEVEL SECURITY`);
    // A policy that only covers reads leaves writes unchecked.
    await owned.exec(`CREATE POLICY "read_only" ON "notes" FOR SELECT
                        USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)`);
    expect(problemsOf(await owned.inspect(), "notes")).toEqual([`no policy FOR ALL with USING and WITH CHECK ${ISOLATION}`]);

    await owned.exec(`CREATE POLICY "workspace_isolation" ON "notes" FOR ALL
                        USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
                        WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)`);
    expect(problemsOf(await owned.inspect(), "notes")).toEqual([]);
  });

  it.skipIf(engine.skip)("flags a permissive policy that lets the runtime see more than its workspace", async () => {
    await owned.exec(`CREATE POLICY "peek" ON "services" FOR SELECT TO pc_runtime USING (true)`);
    expect(problemsOf(await owned.inspect(), "services")).toEqual([
      `permissive policy peek applies to pc_runtime with an expression other than ${ISOLATION}`,
    ]);
    // Restrictive policies only narrow what the isolation policy lets through.
    await owned.exec(`DROP POLICY "peek" ON "services"`);
    await owned.exec(`CREATE POLICY "no_port_zero" ON "services" AS RESTRICTIVE FOR ALL USING ("target_port" > 0)`);
    expect(problemsOf(await owned.inspect(), "services")).toEqual([]);
    await owned.exec(`DROP POLICY "no_port_zero" ON "services"`);
  });

  it.skipIf(engine.skip)("flags views that read as their owner, and materialized views", async () => {
    await owned.exec(`CREATE VIEW "all_agents" AS SELECT "id", "workspace_id", "label" FROM "agents"`);
    await owned.exec(`CREATE MATERIALIZED VIEW "service_names" AS SELECT "workspace_id", "name" FROM "services"`);
    const report = await owned.inspect();
    expect(problemsOf(report, "all_agents")).toEqual(["view without security_invoker = true: it would read as its owner"]);
    expect(problemsOf(report, "service_names")).toEqual([
      "materialized view: row-level security cannot apply, use a view WITH (security_invoker = true)",
    ]);
    await owned.exec(`DROP MATERIALIZED VIEW "service_names"`);
    await owned.exec(`ALTER VIEW "all_agents" SET (security_invoker = true)`);
    expect((await owned.inspect()).problems).toEqual([]);
  });

  it.skipIf(engine.skip)("makes openDatabase refuse to serve while a tenant table lacks forced RLS", async () => {
    await owned.exec(`CREATE TABLE "widget_grants" ("id" uuid PRIMARY KEY, "workspace_id" uuid NOT NULL)`);
    await expect(owned.open()).rejects.toThrow(
      /Workspace isolation is incomplete, so the hub will not start: widget_grants: row-level security is not enabled/,
    );
    await owned.exec(`DROP TABLE "widget_grants"`);
    const db = await owned.open();
    await db.close();
  });
});
