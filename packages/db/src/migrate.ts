import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { sha256Hex } from "./hash.js";

/**
 * Resolved from this module so it works from src (tests) and from dist (the hub): both sit next
 * to prisma/ in the package, and package.json ships prisma/migrations.
 */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("../prisma/migrations/", import.meta.url));

const MIGRATIONS_TABLE = "_pc_migrations";
// Any constant works as long as every hub uses the same one; derived in SQL so it is self-describing.
const ADVISORY_LOCK_SQL = "SELECT pg_advisory_lock(hashtextextended('private-connect:migrations', 0))";
const ADVISORY_UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended('private-connect:migrations', 0))";

export type MigrationTarget = { databaseUrl: string } | { pglite: PGlite };

export interface MigrateOptions {
  /** Folder in Prisma's layout: <name>/migration.sql. Defaults to the one shipped with this package. */
  migrationsDir?: string;
}

export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations that were already applied before this call. */
  alreadyApplied: string[];
}

export class MigrationChecksumError extends Error {
  override readonly name = "MigrationChecksumError";
}

interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/** What the migrator needs from either engine: run a script and a parameterised statement. */
interface MigrationSession {
  exec(sql: string): Promise<void>;
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs fn in one transaction; rolls back if it throws. */
  transaction(fn: (session: MigrationSession) => Promise<void>): Promise<void>;
}

/**
 * Applies every migration in the folder that is not yet recorded, each in its own transaction,
 * in name order. Runs as the privileged connection (the owner of the tables).
 */
export async function migrate(target: MigrationTarget, options: MigrateOptions = {}): Promise<MigrateResult> {
  const files = await readMigrationFiles(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  if ("pglite" in target) {
    // PGlite is one in-process session owned by this process: nothing else can race us.
    return applyMigrations(createPgliteSession(target.pglite), files);
  }
  const client = new pg.Client({ connectionString: target.databaseUrl });
  // A dropped connection also rejects the pending query, which is what reports it; without a
  // listener the 'error' event would crash the process instead.
  client.on("error", () => undefined);
  await client.connect();
  try {
    // Two hubs starting together would otherwise both see a migration as missing and apply it
    // twice; the session-level lock serialises them and the second one then finds it recorded.
    await client.query(ADVISORY_LOCK_SQL);
    try {
      return await applyMigrations(createPgSession(client), files);
    } finally {
      await client.query(ADVISORY_UNLOCK_SQL);
    }
  } finally {
    await client.end();
  }
}

async function applyMigrations(session: MigrationSession, files: MigrationFile[]): Promise<MigrateResult> {
  await session.exec(
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
       name text PRIMARY KEY,
       checksum text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const rows = await session.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${MIGRATIONS_TABLE}`);
  const recorded = new Map(rows.map((row) => [row.name, row.checksum]));

  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    const recordedChecksum = recorded.get(file.name);
    if (recordedChecksum !== undefined) {
      if (recordedChecksum !== file.checksum) {
        throw new MigrationChecksumError(
          `Migration ${file.name} was changed after it was applied (recorded sha256 ${recordedChecksum}, file sha256 ${file.checksum}): restore the original migration.sql and put the change in a new migration`,
        );
      }
      result.alreadyApplied.push(file.name);
      continue;
    }
    try {
      await session.transaction(async (tx) => {
        await tx.exec(file.sql);
        await tx.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [file.name, file.checksum]);
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Migration ${file.name} failed and was rolled back: ${reason}`, { cause: error });
    }
    result.applied.push(file.name);
  }
  return result;
}

async function readMigrationFiles(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((error: unknown) => {
    throw new Error(
      `Cannot read the migrations folder ${migrationsDir}: is prisma/migrations shipped with @private-connect/db?`,
      {
        cause: error,
      },
    );
  });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    // Plain code-unit order, not locale order: the timestamp prefix must decide.
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: MigrationFile[] = [];
  for (const name of names) {
    const sql = await readFile(join(migrationsDir, name, "migration.sql"), "utf8");
    files.push({ name, sql, checksum: sha256Hex(sql) });
  }
  return files;
}

function createPgSession(client: pg.Client): MigrationSession {
  const session: MigrationSession = {
    async exec(sql) {
      await client.query(sql);
    },
    async query<Row>(sql: string, params: unknown[] = []) {
      const result = await client.query(sql, params);
      return result.rows as Row[];
    },
    async transaction(fn) {
      await client.query("BEGIN");
      try {
        await fn(session);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
    },
  };
  return session;
}

function createPgliteSession(db: PGlite): MigrationSession {
  const wrap = (run: Pick<PGlite, "exec" | "query">): Omit<MigrationSession, "transaction"> => ({
    async exec(sql) {
      await run.exec(sql);
    },
    async query<Row>(sql: string, params: unknown[] = []) {
      const result = await run.query<Row>(sql, params);
      return result.rows;
    },
  });
  return {
    ...wrap(db),
    async transaction(fn) {
      await db.transaction(async (tx) => {
        const inner: MigrationSession = {
          ...wrap(tx),
          transaction: () => Promise.reject(new Error("nested migration transactions are not supported")),
        };
        await fn(inner);
      });
    },
  };
}
