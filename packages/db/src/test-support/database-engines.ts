// The database engines the database-level tests run on: PGlite, and PostgreSQL in the three
// shapes a hub may meet (a superuser migrating; a plain non-superuser owner, as on managed
// PostgreSQL; and a separate login role for the runtime). Test-only (excluded from the build).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { type Database, openDatabase } from "../database.js";
import { migrate } from "../migrate.js";
import { RUNTIME_ROLE } from "../roles.js";
import {
  createThrowawayPostgres,
  getTestAdminUrl,
  isPostgresReachable,
  type ThrowawayPostgres,
  withAdminClient,
} from "../testing.js";

const adminUrl = getTestAdminUrl();
const postgresReachable = await isPostgresReachable(adminUrl);

export interface Engine {
  name: string;
  skip: boolean;
  /** The role application queries run as: pc_runtime, or a login role that is a member of it. */
  runtimeRole?: string;
  open(): Promise<{ db: Database; cleanup(): Promise<void> }>;
}

// Roles are cluster-wide, so the separate login role gets a random name like the databases do.
const appLoginRole = `pc_test_app_${randomBytes(5).toString("hex")}`;

export const databaseTestEngines: Engine[] = [
  {
    name: "pglite (in-memory)",
    skip: false,
    async open() {
      const db = await openDatabase();
      return { db, cleanup: () => db.close() };
    },
  },
  {
    name: "postgres (superuser migrates, pool of 5)",
    skip: !postgresReachable,
    async open() {
      const database = await createThrowawayPostgres(adminUrl);
      const db = await openDatabase({ databaseUrl: database.url, poolSize: 5 }).catch(async (error: unknown) => {
        await database.drop();
        throw error;
      });
      return {
        db,
        async cleanup() {
          await db.close();
          await database.drop();
        },
      };
    },
  },
  {
    // The production shape on managed PostgreSQL: the migrating user owns the tables but is not a
    // superuser, so FORCE ROW LEVEL SECURITY applies to it too.
    name: "postgres (non-superuser owner migrates, pool of 5)",
    skip: !postgresReachable,
    async open() {
      const owner = `pc_test_owner_${randomBytes(5).toString("hex")}`;
      await withAdminClient(adminUrl, (client) =>
        client.query(`CREATE ROLE ${pg.escapeIdentifier(owner)} LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS`),
      );
      let database: ThrowawayPostgres | undefined;
      const dropAll = async () => {
        await database?.drop();
        await withAdminClient(adminUrl, (client) => client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(owner)}`));
      };
      try {
        database = await createThrowawayPostgres(adminUrl, { owner });
        const url = new URL(database.url);
        url.username = owner;
        url.password = "";
        const db = await openDatabase({ databaseUrl: url.toString(), poolSize: 5 });
        return {
          db,
          async cleanup() {
            await db.close();
            await dropAll();
          },
        };
      } catch (error) {
        await dropAll();
        throw error;
      }
    },
  },
  {
    // The recommended production shape: the runtime logs in as its own role (DATABASE_RUNTIME_URL),
    // a member of pc_runtime, so no RESET ROLE can bring back the owner's rights.
    name: "postgres (separate login role via runtimeUrl, pool of 5)",
    skip: !postgresReachable,
    runtimeRole: appLoginRole,
    async open() {
      const database = await createThrowawayPostgres(adminUrl);
      const dropAll = async () => {
        await database.drop();
        await withAdminClient(adminUrl, (client) => client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(appLoginRole)}`));
      };
      try {
        // pc_runtime comes from the first migration, so migrate before creating the login role.
        await migrate({ databaseUrl: database.url });
        await withAdminClient(adminUrl, (client) =>
          client.query(`CREATE ROLE ${pg.escapeIdentifier(appLoginRole)} LOGIN IN ROLE ${RUNTIME_ROLE}`),
        );
        const runtimeUrl = new URL(database.url);
        runtimeUrl.username = appLoginRole;
        runtimeUrl.password = "";
        const db = await openDatabase({ databaseUrl: database.url, runtimeUrl: runtimeUrl.toString(), poolSize: 5 });
        return {
          db,
          async cleanup() {
            await db.close();
            await dropAll();
          },
        };
      } catch (error) {
        await dropAll();
        throw error;
      }
    },
  },
];
