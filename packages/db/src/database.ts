import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { isSha256Hex } from "./hash.js";
import { migrate } from "./migrate.js";
import { PrismaClient, type WorkspaceTx } from "./prisma.js";
import { RUNTIME_ROLE } from "./roles.js";
import { assertTenantTablesIsolated, type CatalogQuery } from "./tenant-tables.js";
import { isUuid } from "./uuid.js";

export { RUNTIME_ROLE };

export type DatabaseKind = "postgres" | "pglite";

export interface OpenDatabaseOptions {
  /** PostgreSQL URL of the owning (migrating) user. Without it the embedded PGlite is used. */
  databaseUrl?: string;
  /**
   * PostgreSQL URL for the runtime connection, e.g. a login role that is a member of pc_runtime.
   * Defaults to databaseUrl with the startup option `-c role=pc_runtime`.
   */
  runtimeUrl?: string;
  /** PGlite data directory (created if missing). In-memory when undefined: tests only. */
  dataDir?: string;
  /** PostgreSQL runtime pool size. Default 10. */
  poolSize?: number;
}

export interface ApiKeyAuth {
  apiKeyId: string;
  workspaceId: string;
}

export interface AgentTokenAuth {
  agentId: string;
  workspaceId: string;
  label: string;
  clientType: string;
  tokenExpiresAt: Date;
  revokedAt: Date | null;
  /** Which of the agent's tokens matched: its current one, or the new one of an unconfirmed rotation. */
  tokenSlot: AgentTokenSlot;
}

export type AgentTokenSlot = "current" | "pending";

/** A `connect login` request as its polling machine may learn it (by the device code's hash). */
export interface DeviceAuthorizationState {
  id: string;
  /** Null while pending; the deciding workspace once approved or denied. */
  workspaceId: string | null;
  label: string;
  status: "pending" | "approved" | "denied";
  expiresAt: Date;
  consumedAt: Date | null;
}

export interface StartDeviceAuthorizationInput {
  deviceCodeHash: string;
  userCodeHash: string;
  label: string;
  requestedIp: string | null;
  now: Date;
  expiresAt: Date;
}

export interface Database {
  kind: DatabaseKind;
  /** Runs as pc_runtime: without withWorkspace() every workspace-scoped table reads as empty. */
  prisma: PrismaClient;
  /**
   * Runs fn in one transaction scoped to the workspace. On PGlite do not use `prisma` or the
   * authenticate functions inside fn: there is one session and it is held by this transaction.
   */
  withWorkspace<T>(workspaceId: string, fn: (tx: WorkspaceTx) => Promise<T>): Promise<T>;
  /** Looks up a non-revoked API key by the SHA-256 hex of the key; stamps last_used_at. */
  authenticateApiKeyHash(hash: string): Promise<ApiKeyAuth | null>;
  /**
   * Looks up an agent by the SHA-256 hex of its token, current or pending rotation, revoked or
   * not (the caller decides).
   */
  authenticateAgentTokenHash(hash: string): Promise<AgentTokenAuth | null>;
  /** Records a device-code login request, which has no workspace until someone decides it. */
  startDeviceAuthorization(input: StartDeviceAuthorizationInput): Promise<string>;
  /** Finds a device-code login request by the SHA-256 hex of its device code. */
  findDeviceAuthorizationByCodeHash(hash: string): Promise<DeviceAuthorizationState | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_POOL_SIZE = 10;

/**
 * Migrates the database as the privileged user, then returns a client that runs as the
 * non-owner runtime role, so row-level security is what keeps workspaces apart.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  if (options.databaseUrl !== undefined) {
    return openPostgres(options.databaseUrl, options);
  }
  return openPglite(options.dataDir);
}

async function openPostgres(databaseUrl: string, options: OpenDatabaseOptions): Promise<Database> {
  await migrate({ databaseUrl });
  const pool = new pg.Pool({
    connectionString: options.runtimeUrl ?? withRuntimeRoleOption(databaseUrl),
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
  });
  // An idle connection dying (server restart, network blip) emits 'error' on the pool; the pool
  // already discards that client and the next query reconnects, so this must not crash the hub.
  // Persistent trouble shows up as failing queries and in ping().
  pool.on("error", () => undefined);
  try {
    await assertRuntimeIsIsolated((sql) => pool.query(sql).then((result) => result.rows));
  } catch (error) {
    await pool.end();
    throw error;
  }
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    // The pool waits for a free connection inside maxWait; a burst of requests should queue,
    // not fail after Prisma's 2 s default.
    transactionOptions: { maxWait: 10_000, timeout: 15_000 },
  });
  return createDatabase("postgres", prisma, async () => {
    await prisma.$disconnect();
    await pool.end();
  });
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir !== undefined) {
    await mkdir(dataDir, { recursive: true });
  }
  const pglite = await PGlite.create(dataDir !== undefined ? { dataDir } : {});
  try {
    await migrate({ pglite });
    // PGlite is a single session that only this process uses, and nothing ever returns it to a
    // pool, so a session-level SET ROLE is safe here (unlike on a pooled PostgreSQL connection):
    // from now on every query, in or out of a transaction, runs as the runtime role.
    await pglite.exec(`SET ROLE ${RUNTIME_ROLE}`);
    await assertRuntimeIsIsolated((sql) => pglite.query<Record<string, unknown>>(sql).then((result) => result.rows));
  } catch (error) {
    await pglite.close();
    throw error;
  }
  // No extra serialisation needed: PGlite.transaction() holds PGlite's transaction mutex until
  // commit/rollback, and PGlite.query() outside a transaction waits on the same mutex, so
  // statements of concurrent Prisma transactions never interleave on the one session
  // (database.test.ts proves it under 200 concurrent withWorkspace calls). Transactions queue
  // behind each other, so maxWait must cover a whole queue, not just one transaction.
  const prisma = new PrismaClient({
    adapter: new PrismaPGlite(pglite),
    transactionOptions: { maxWait: 30_000, timeout: 15_000 },
  });
  return createDatabase("pglite", prisma, async () => {
    await prisma.$disconnect();
    await pglite.close();
  });
}

function createDatabase(kind: DatabaseKind, prisma: PrismaClient, close: () => Promise<void>): Database {
  return {
    kind,
    prisma,
    async withWorkspace<T>(workspaceId: string, fn: (tx: WorkspaceTx) => Promise<T>): Promise<T> {
      // Anything else would make the ::uuid cast in the policies throw, or worse, be a bug
      // upstream that passed the wrong value: refuse before touching the database.
      if (!isUuid(workspaceId)) {
        throw new TypeError("withWorkspace: workspaceId must be a UUID");
      }
      return prisma.$transaction(async (tx) => {
        // is_local = true: the setting dies with the transaction, so a pooled connection never
        // carries one workspace's context into the next request.
        await tx.$executeRaw`SELECT set_config('app.workspace_id', ${workspaceId}, true)`;
        return fn(tx);
      });
    },
    async authenticateApiKeyHash(hash: string): Promise<ApiKeyAuth | null> {
      if (!isSha256Hex(hash)) return null;
      const rows = await prisma.$queryRaw<{ api_key_id: string; workspace_id: string }[]>`
        SELECT api_key_id, workspace_id FROM pc_auth_api_key(${hash})`;
      const row = rows[0];
      return row === undefined ? null : { apiKeyId: row.api_key_id, workspaceId: row.workspace_id };
    },
    async authenticateAgentTokenHash(hash: string): Promise<AgentTokenAuth | null> {
      if (!isSha256Hex(hash)) return null;
      const rows = await prisma.$queryRaw<
        {
          agent_id: string;
          workspace_id: string;
          label: string;
          client_type: string;
          token_expires_at: Date;
          revoked_at: Date | null;
          token_slot: string;
        }[]
      >`SELECT agent_id, workspace_id, label, client_type, token_expires_at, revoked_at, token_slot
          FROM pc_auth_agent_token(${hash})`;
      const row = rows[0];
      if (row === undefined) return null;
      return {
        agentId: row.agent_id,
        workspaceId: row.workspace_id,
        label: row.label,
        clientType: row.client_type,
        tokenExpiresAt: row.token_expires_at,
        revokedAt: row.revoked_at,
        tokenSlot: row.token_slot === "pending" ? "pending" : "current",
      };
    },
    async startDeviceAuthorization(input: StartDeviceAuthorizationInput): Promise<string> {
      if (!isSha256Hex(input.deviceCodeHash) || !isSha256Hex(input.userCodeHash)) {
        throw new TypeError("startDeviceAuthorization: codes must be given as SHA-256 hex");
      }
      const rows = await prisma.$queryRaw<{ id: string }[]>`
        SELECT pc_auth_device_start(${input.deviceCodeHash}, ${input.userCodeHash}, ${input.label},
                                    ${input.requestedIp}, ${input.now.toISOString()}::timestamptz,
                                    ${input.expiresAt.toISOString()}::timestamptz) AS id`;
      const id = rows[0]?.id;
      if (id === undefined) throw new Error("pc_auth_device_start returned no row");
      return id;
    },
    async findDeviceAuthorizationByCodeHash(hash: string): Promise<DeviceAuthorizationState | null> {
      if (!isSha256Hex(hash)) return null;
      const rows = await prisma.$queryRaw<
        {
          id: string;
          workspace_id: string | null;
          label: string;
          status: string;
          expires_at: Date;
          consumed_at: Date | null;
        }[]
      >`SELECT id, workspace_id, label, status, expires_at, consumed_at FROM pc_auth_device_code(${hash})`;
      const row = rows[0];
      if (row === undefined) return null;
      return {
        id: row.id,
        workspaceId: row.workspace_id,
        label: row.label,
        status: row.status === "approved" || row.status === "denied" ? row.status : "pending",
        expiresAt: row.expires_at,
        consumedAt: row.consumed_at,
      };
    },
    async ping(): Promise<void> {
      await prisma.$queryRaw`SELECT 1`;
    },
    close,
  };
}

/** Adds `-c role=pc_runtime` to the URL's startup options, keeping any options already there. */
export function withRuntimeRoleOption(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const existing = url.searchParams.get("options");
  url.searchParams.set("options", [existing, `-c role=${RUNTIME_ROLE}`].filter(Boolean).join(" "));
  return url.toString();
}

/**
 * Fails closed before serving a single request: the runtime role must be confined, and every
 * table holding workspace data must be isolated by forced row-level security.
 */
async function assertRuntimeIsIsolated(query: CatalogQuery): Promise<void> {
  await assertRuntimeRoleIsConfined(query);
  await assertTenantTablesIsolated(query);
}

/**
 * If the runtime connection could bypass row-level security (a superuser, a BYPASSRLS role, or a
 * runtimeUrl pointing at the owner), workspaces would not be isolated.
 */
async function assertRuntimeRoleIsConfined(query: CatalogQuery): Promise<void> {
  const rows = await query(
    `SELECT current_user::text AS role, r.rolsuper AS is_superuser, r.rolbypassrls AS bypasses_rls,
            EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                     WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace) AS owns_tables
       FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
  );
  const row = rows[0];
  if (row === undefined || row.is_superuser !== false || row.bypasses_rls !== false || row.owns_tables !== false) {
    throw new Error(
      `The runtime database connection runs as ${String(row?.role)}, which is a superuser, bypasses row-level security or owns the tables: connect it as a member of ${RUNTIME_ROLE} (set runtimeUrl, or let the default -c role=${RUNTIME_ROLE} apply)`,
    );
  }
}
