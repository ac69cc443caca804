// What the e2e globalSetup decided, as seen from inside a test file.
import { inject } from "vitest";
import type { ProvidedPostgres } from "./global-setup.ts";
import { createDatabaseOn, NO_POSTGRES_WARNING, type TestDatabase } from "./postgres.ts";

/**
 * The run's PostgreSQL server (env, 127.0.0.1:5432 or a throwaway cluster), or null. When null,
 * globalSetup has already printed the warning; tests that skip say so in their own words.
 */
export function postgresServer(): ProvidedPostgres | null {
  return inject("postgres");
}

/** A fresh `pc_test_<random>` database on the run's server, or null when there is none. */
export async function createTestDatabase(): Promise<TestDatabase | null> {
  const server = postgresServer();
  return server ? createDatabaseOn(server.adminUrl) : null;
}

export { NO_POSTGRES_WARNING };
