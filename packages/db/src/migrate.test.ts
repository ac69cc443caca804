import { appendFile, cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, MigrationChecksumError, type MigrationTarget, migrate } from "./migrate.js";
import { createThrowawayPostgres, getTestAdminUrl, isPostgresReachable } from "./testing.js";

const adminUrl = getTestAdminUrl();
const postgresReachable = await isPostgresReachable(adminUrl);

/** The migrations this package ships, in the order migrate() applies them; read, not listed, so new ones need no edit here. */
const SHIPPED = (await readdir(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

interface Target {
  target: MigrationTarget;
  /** Runs a query as the migrating (privileged) user. */
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

describe.each(engines)("migrate on $name", (engine) => {
  const disposers: (() => Promise<void>)[] = [];
  let migrationsDir: string;

  beforeAll(async () => {
    // A private copy, so tests can tamper with it.
    const root = await mkdtemp(join(tmpdir(), "pc-migrations-"));
    migrationsDir = join(root, "migrations");
    await cp(DEFAULT_MIGRATIONS_DIR, migrationsDir, { recursive: true });
    disposers.push(() => rm(root, { recursive: true, force: true }));
  });

  afterEach(async () => {
    // Restore the pristine copy for the next test.
    await rm(migrationsDir, { recursive: true, force: true });
    await cp(DEFAULT_MIGRATIONS_DIR, migrationsDir, { recursive: true });
  });

  afterAll(async () => {
    for (const dispose of disposers.reverse()) await dispose();
  });

  async function freshTarget(): Promise<Target> {
    const target = await engine.create();
    disposers.push(() => target.dispose());
    return target;
  }

  it.skipIf(engine.skip)("applies every migration once and records its checksum; a second run applies nothing", async () => {
    const { target, query } = await freshTarget();
    const first = await migrate(target, { migrationsDir });
    expect(SHIPPED[0]).toBe("20251129000000_init");
    expect(first.applied).toEqual(SHIPPED);
    expect(first.alreadyApplied).toEqual([]);

    const second = await migrate(target, { migrationsDir });
    expect(second).toEqual({ applied: [], alreadyApplied: SHIPPED });

    const ledger = await query("SELECT name, checksum FROM _pc_migrations ORDER BY name");
    expect(ledger).toHaveLength(SHIPPED.length);
    for (const row of ledger) expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it.skipIf(engine.skip)("applies only the new migration when one is added", async () => {
    const { target, query } = await freshTarget();
    await migrate(target, { migrationsDir });
    await mkdir(join(migrationsDir, "20991231000000_add_note"));
    await writeFile(
      join(migrationsDir, "20991231000000_add_note", "migration.sql"),
      'ALTER TABLE "workspaces" ADD COLUMN "note" text;\n',
    );
    expect(await migrate(target, { migrationsDir })).toEqual({
      applied: ["20991231000000_add_note"],
      alreadyApplied: SHIPPED,
    });
    expect(
      await query("SELECT column_name FROM information_schema.columns WHERE table_name = 'workspaces' AND column_name = 'note'"),
    ).toHaveLength(1);
  });

  it.skipIf(engine.skip)("refuses to run when an applied migration was edited", async () => {
    const { target } = await freshTarget();
    await migrate(target, { migrationsDir });
    await appendFile(join(migrationsDir, "20251129000000_init", "migration.sql"), "\n-- harmless looking edit\n");
    const run = migrate(target, { migrationsDir });
    await expect(run).rejects.toBeInstanceOf(MigrationChecksumError);
    await expect(migrate(target, { migrationsDir })).rejects.toThrow(/20251129000000_init was changed after it was applied/);
  });

  it.skipIf(engine.skip)("rolls a failing migration back completely and does not record it", async () => {
    const { target, query } = await freshTarget();
    await mkdir(join(migrationsDir, "20991231000000_broken"));
    await writeFile(
      join(migrationsDir, "20991231000000_broken", "migration.sql"),
      'CREATE TABLE "half_done" (id int);\nSELECT 1 / 0;\n',
    );
    await expect(migrate(target, { migrationsDir })).rejects.toThrow(
      /20991231000000_broken failed and was rolled back: division by zero/,
    );
    expect(await query("SELECT to_regclass('public.half_done') AS t")).toEqual([{ t: null }]);
    expect(await query("SELECT name FROM _pc_migrations ORDER BY name")).toEqual(SHIPPED.map((name) => ({ name })));
  });
});

describe.skipIf(!postgresReachable)("migrate on postgres, two hubs at once", () => {
  it("serialises them with an advisory lock: one applies, the other finds it applied", async () => {
    const database = await createThrowawayPostgres(adminUrl);
    try {
      const target = { databaseUrl: database.url };
      const results = await Promise.all([migrate(target), migrate(target)]);
      expect(results.map((result) => result.applied.length).sort()).toEqual([0, SHIPPED.length]);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        expect((await client.query("SELECT count(*)::int AS n FROM _pc_migrations")).rows).toEqual([{ n: SHIPPED.length }]);
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
    }
  });
});
