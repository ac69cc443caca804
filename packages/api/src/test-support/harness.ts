// Shared by this package's tests only (excluded from the build): a real database on each engine,
// deps with a controllable clock and presence, and callers for any bearer.
import { type Database, openDatabase } from "@private-connect/db";
import { createThrowawayPostgres, getTestAdminUrl, isPostgresReachable, withAdminClient } from "@private-connect/db/testing";
import { TRPCError } from "@trpc/server";
import { expect } from "vitest";
import type { ApiDeps } from "../deps.js";
import { AppError, type AppErrorCode } from "../errors.js";
import { createWorkspaceEvents } from "../events/workspace-events.js";
import { createCaller } from "../root.js";
import { createWorkspace } from "../services/workspaces/create-workspace.js";
import { createContextInner } from "../trpc.js";

export type EngineName = "pglite" | "postgres";

const postgresReachable = await isPostgresReachable(getTestAdminUrl());

/** PGlite always; PostgreSQL when one answers (DATABASE_URL, else 127.0.0.1:5432). */
export const testEngines: { name: EngineName; skip: boolean }[] = [
  { name: "pglite", skip: false },
  { name: "postgres", skip: !postgresReachable },
];

export interface Harness {
  db: Database;
  deps: ApiDeps;
  /** Agent ids the fake presence reports as connected. */
  online: Set<string>;
  /** Moves the injected clock; undefined means real time. */
  setNow(now: Date | undefined): void;
  /** A caller as one request of this bearer; the signal ends its subscriptions, like a closed connection. */
  caller(bearer?: string, options?: { signal?: AbortSignal }): Promise<ReturnType<typeof createCaller>>;
  /** A fresh workspace with its plaintext API key. */
  createTestWorkspace(name?: string): Promise<{ workspaceId: string; apiKey: string }>;
  /** A registered agent of the key's workspace with its plaintext token. */
  registerTestAgent(apiKey: string, label: string): Promise<{ agentId: string; token: string }>;
  /**
   * PostgreSQL only: runs SQL on the test database as the superuser, for control experiments
   * that must step outside row-level security (never what the code under test does).
   */
  queryAsSuperuser?: (sql: string) => Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

let workspaceCounter = 0;

export async function openHarness(engine: EngineName): Promise<Harness> {
  let db: Database;
  let dropDatabase: () => Promise<void> = async () => undefined;
  let queryAsSuperuser: Harness["queryAsSuperuser"];
  if (engine === "pglite") {
    db = await openDatabase();
  } else {
    const database = await createThrowawayPostgres();
    dropDatabase = database.drop;
    queryAsSuperuser = (sql) => withAdminClient(database.url, async (client) => (await client.query(sql)).rows);
    db = await openDatabase({ databaseUrl: database.url, poolSize: 5 }).catch(async (error: unknown) => {
      await database.drop();
      throw error;
    });
  }
  let now: Date | undefined;
  const online = new Set<string>();
  const deps: ApiDeps = {
    db,
    config: { tokenExpiryDays: 30 },
    now: () => now ?? new Date(),
    presence: { isAgentOnline: (agentId) => online.has(agentId) },
    events: createWorkspaceEvents(),
  };
  const harness: Harness = {
    db,
    deps,
    online,
    setNow(value) {
      now = value;
    },
    async caller(bearer, options = {}) {
      return createCaller(await createContextInner({ deps, bearer }), { signal: options.signal });
    },
    async createTestWorkspace(name = `Test workspace ${++workspaceCounter}`) {
      const created = await createWorkspace(deps, { name, ownerEmail: `owner${workspaceCounter}@example.com` });
      return { workspaceId: created.workspace.id, apiKey: created.apiKey };
    },
    async registerTestAgent(apiKey, label) {
      const registered = await (await harness.caller(apiKey)).agents.register({ label });
      return { agentId: registered.agentId, token: registered.token };
    },
    queryAsSuperuser,
    async close() {
      await db.close();
      await dropDatabase();
    },
  };
  return harness;
}

/** Asserts a tRPC call failed with the given AppError code and exact message. */
export async function expectAppError(promise: Promise<unknown>, code: AppErrorCode, message: string | RegExp): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, "expected the call to fail").toBeDefined();
  const appError = error instanceof TRPCError ? error.cause : error;
  expect(appError).toBeInstanceOf(AppError);
  expect((appError as AppError).code).toBe(code);
  if (typeof message === "string") expect((error as Error).message).toBe(message);
  else expect((error as Error).message).toMatch(message);
}
