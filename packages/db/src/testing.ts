// Test helpers shared by the packages that need a real database (db, api, hub end-to-end tests).
// Exported as @private-connect/db/testing; never imported by production code.
import { randomBytes } from "node:crypto";
import pg from "pg";

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface ThrowawayPostgres {
  /** URL of a fresh, empty database owned by the admin user. */
  url: string;
  name: string;
  /** Drops the database (terminating leftover connections). */
  drop(): Promise<void>;
}

/**
 * The admin URL tests use to create throwaway databases: the server the test run picked
 * (PC_TEST_ADMIN_URL, set by tests/support/setup-unit.ts from the global setup: DATABASE_URL,
 * the local server, or a throwaway cluster), else DATABASE_URL (its database is only used to
 * issue CREATE/DROP DATABASE), else the local trust-auth server.
 */
export function getTestAdminUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.PC_TEST_ADMIN_URL ?? env.DATABASE_URL ?? DEFAULT_ADMIN_URL;
}

/** True when a PostgreSQL server answers at the admin URL within the timeout. */
export async function isPostgresReachable(adminUrl = getTestAdminUrl(), timeoutMs = 2_000): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a database with a random name; the caller must call drop(). */
export async function createThrowawayPostgres(
  adminUrl = getTestAdminUrl(),
  options: { owner?: string } = {},
): Promise<ThrowawayPostgres> {
  const name = `pc_test_${randomBytes(6).toString("hex")}`;
  await withAdminClient(adminUrl, async (client) => {
    const owner = options.owner === undefined ? "" : ` OWNER ${pg.escapeIdentifier(options.owner)}`;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${owner}`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      withAdminClient(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      }),
  };
}

/** Runs fn with a short-lived admin connection. */
export async function withAdminClient<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
