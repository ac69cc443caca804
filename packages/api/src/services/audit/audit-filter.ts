import { type ApiDeps, currentTime } from "../../deps.js";

export interface AuditFilter {
  type?: string | undefined;
  action?: string | undefined;
  /** Seconds before now, or an ISO 8601 time (validated by auditSince). */
  since?: number | string | undefined;
}

/** The start of the period a filter asks for, by the caller's clock; undefined for all time. */
export function resolveSince(deps: ApiDeps, since: number | string | undefined): Date | undefined {
  if (since === undefined) return undefined;
  if (typeof since === "number") return new Date(currentTime(deps).getTime() - since * 1000);
  return new Date(since);
}
