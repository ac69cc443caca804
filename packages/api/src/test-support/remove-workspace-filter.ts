// Test seam: runs the real service functions as if their authors had forgotten the application's
// workspace filter, so a test can show that row-level security alone still keeps tenants apart.
import type { WorkspaceTx } from "@private-connect/db";
import type { ApiDeps } from "../deps.js";

export interface FilterlessDeps {
  deps: ApiDeps;
  /** `model.method` of every call whose `where.workspaceId` the seam deleted, in order. */
  removed: string[];
}

/**
 * Returns deps whose withWorkspace still opens the real transaction with the workspace context,
 * but hands the service a client that deletes `workspaceId` from the `where` of every model call.
 * The SQL that reaches the database then has no workspace predicate at all.
 */
export function removeWorkspaceFilter(deps: ApiDeps): FilterlessDeps {
  const removed: string[] = [];
  const filterless: ApiDeps = {
    ...deps,
    db: {
      ...deps.db,
      withWorkspace: (workspaceId, fn) => deps.db.withWorkspace(workspaceId, (tx) => fn(stripFilters(tx, removed))),
    },
  };
  return { deps: filterless, removed };
}

function stripFilters(tx: WorkspaceTx, removed: string[]): WorkspaceTx {
  return new Proxy(tx, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      // Model delegates (tx.service, tx.agent, ...); $queryRaw and friends pass through untouched.
      if (typeof property !== "string" || property.startsWith("$") || typeof value !== "object" || value === null) {
        return value;
      }
      return stripDelegateFilters(property, value, removed);
    },
  });
}

function stripDelegateFilters(model: string, delegate: object, removed: string[]): object {
  return new Proxy(delegate, {
    get(target, method, receiver) {
      const value: unknown = Reflect.get(target, method, receiver);
      if (typeof method !== "string" || typeof value !== "function") return value;
      return (args?: unknown, ...rest: unknown[]) => {
        if (isRecord(args) && isRecord(args.where) && "workspaceId" in args.where) {
          const { workspaceId: _dropped, ...where } = args.where;
          removed.push(`${model}.${method}`);
          return Reflect.apply(value, target, [{ ...args, where }, ...rest]);
        }
        return Reflect.apply(value, target, [args, ...rest]);
      };
    },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
