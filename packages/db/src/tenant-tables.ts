import { RUNTIME_ROLE } from "./roles.js";

/** Runs one read-only catalog query and returns its rows; any role may read pg_catalog. */
export type CatalogQuery = (sql: string) => Promise<Record<string, unknown>[]>;

export interface TenantTable {
  /** `name` in schema public, `schema.name` elsewhere. */
  name: string;
  /** The column the isolation policy compares with app.workspace_id: `id` for workspaces itself. */
  keyColumn: "workspace_id" | "id";
  /** pg_class.relkind: r table, p partitioned table, v view, m materialized view, f foreign table. */
  kind: string;
}

export interface TenantTableProblem {
  table: string;
  problem: string;
}

export interface TenantTablesReport {
  /** Every relation the rule applies to: each one with a workspace_id column, plus workspaces. */
  tables: TenantTable[];
  /** Empty when every one of them is isolated by row-level security. */
  problems: TenantTableProblem[];
}

/**
 * The one expression every isolation policy must have, as PostgreSQL deparses it (15 through 18).
 * Compared as text on purpose: a policy that merely mentions app.workspace_id next to an `OR true`
 * would pass a looser check.
 */
export function describeIsolationExpression(keyColumn: string): string {
  return `(${keyColumn} = (NULLIF(current_setting('app.workspace_id'::text, true), ''::text))::uuid)`;
}

// Reads the catalog of the current database. "Applies to the runtime" means a policy for PUBLIC
// or for a role pc_runtime inherits from; policies for other roles (pc_auth_lookup) are ignored.
const TENANT_TABLES_SQL = `
WITH runtime AS (
  SELECT oid FROM pg_catalog.pg_roles WHERE rolname = '${RUNTIME_ROLE}'
), tenant AS (
  SELECT c.oid,
         CASE WHEN n.nspname = 'public' THEN c.relname::text ELSE n.nspname || '.' || c.relname END AS name,
         CASE WHEN n.nspname = 'public' AND c.relname = 'workspaces' THEN 'id' ELSE 'workspace_id' END AS key_column,
         c.relkind::text AS kind,
         c.relrowsecurity AS rls,
         c.relforcerowsecurity AS forced,
         coalesce(c.reloptions && ARRAY['security_invoker=true', 'security_invoker=on', 'security_invoker=1'], false)
           AS security_invoker
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg\\_toast%'
     -- Temporary tables live for one session of whoever made them; they hold no tenant's data.
     AND n.nspname NOT LIKE 'pg\\_temp\\_%'
     AND (EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND a.attnum > 0 AND NOT a.attisdropped)
          OR (n.nspname = 'public' AND c.relname = 'workspaces'))
), runtime_policies AS (
  SELECT p.polrelid, p.polname::text AS name, p.polcmd::text AS cmd, p.polpermissive AS permissive,
         pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using_expr,
         pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
    FROM pg_catalog.pg_policy p
   WHERE EXISTS (SELECT 1 FROM unnest(p.polroles) AS r(oid), runtime
                  WHERE r.oid = 0 OR pg_catalog.pg_has_role(runtime.oid, r.oid, 'USAGE'))
)
SELECT t.name, t.key_column, t.kind, t.rls, t.forced, t.security_invoker,
       coalesce((SELECT json_agg(json_build_object('name', rp.name, 'cmd', rp.cmd, 'permissive', rp.permissive,
                                                   'using', rp.using_expr, 'check', rp.check_expr) ORDER BY rp.name)
                   FROM runtime_policies rp WHERE rp.polrelid = t.oid), '[]'::json)::text AS policies
  FROM tenant t
 ORDER BY t.name`;

interface PolicyRow {
  name: string;
  cmd: string;
  permissive: boolean;
  using: string | null;
  check: string | null;
}

/**
 * Lists every relation that holds workspace data and says which of them row-level security does
 * not fully isolate: RLS not enabled, not forced (the owner would see everything), no
 * `workspace_isolation`-style policy for reads and writes, a permissive policy for the runtime
 * that lets more through, a view that runs with its owner's rights, or a materialized view (which
 * cannot have policies at all).
 */
export async function inspectTenantTables(query: CatalogQuery): Promise<TenantTablesReport> {
  const rows = await query(TENANT_TABLES_SQL);
  const report: TenantTablesReport = { tables: [], problems: [] };
  for (const row of rows) {
    const name = String(row.name);
    const keyColumn = row.key_column === "id" ? "id" : "workspace_id";
    const kind = String(row.kind);
    report.tables.push({ name, keyColumn, kind });
    const flag = (problem: string) => report.problems.push({ table: name, problem });
    if (kind === "m") {
      flag("materialized view: row-level security cannot apply, use a view WITH (security_invoker = true)");
      continue;
    }
    if (kind === "v") {
      // A view reads its tables with the rights of its owner, who is a member of pc_auth_lookup
      // and would therefore see every workspace's credentials rows; security_invoker makes the
      // caller's policies apply instead.
      if (row.security_invoker !== true) flag("view without security_invoker = true: it would read as its owner");
      continue;
    }
    if (row.rls !== true) flag("row-level security is not enabled");
    if (row.forced !== true) flag("row-level security is not forced, so the owner bypasses it");
    const expected = describeIsolationExpression(keyColumn);
    const policies = JSON.parse(String(row.policies)) as PolicyRow[];
    const isolating = policies.some(
      (policy) => policy.permissive && policy.cmd === "*" && policy.using === expected && policy.check === expected,
    );
    if (!isolating) flag(`no policy FOR ALL with USING and WITH CHECK ${expected}`);
    for (const policy of policies) {
      // Permissive policies are OR-ed: any one that is looser than the isolation expression
      // widens what the runtime sees or writes. Restrictive ones only narrow, so they are fine.
      if (!policy.permissive) continue;
      const expressions = [policy.using, policy.check].filter((expression) => expression !== null);
      if (expressions.some((expression) => expression !== expected)) {
        flag(`permissive policy ${policy.name} applies to ${RUNTIME_ROLE} with an expression other than ${expected}`);
      }
    }
  }
  return report;
}

/** Fails closed: refuses to serve requests from a schema where some tenant table is not isolated. */
export async function assertTenantTablesIsolated(query: CatalogQuery): Promise<void> {
  const { problems } = await inspectTenantTables(query);
  if (problems.length === 0) return;
  const list = problems.map(({ table, problem }) => `${table}: ${problem}`).join("; ");
  throw new Error(
    `Workspace isolation is incomplete, so the hub will not start: ${list}. Add ENABLE and FORCE ROW LEVEL SECURITY and the workspace_isolation policy in a new migration`,
  );
}
