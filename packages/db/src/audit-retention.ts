// Typed wrapper of pc_audit_prune (migration 20251129060000_audit_retention). The runtime role
// cannot DELETE audit events; this function is the only way old ones leave the table.
import type { IdentitySql } from "./identity.js";

export const AUDIT_RETENTION_MIN_DAYS = 1;
export const AUDIT_RETENTION_MAX_DAYS = 3650;

/**
 * Deletes every workspace's audit events older than `retentionDays` days by the database's
 * clock and returns how many went. Runs outside any workspace context (db.prisma): retention is
 * the hub's policy, not a workspace's. The function refuses a retention under one day, so no
 * caller can erase the most recent events.
 */
export async function pruneAuditEvents(sql: IdentitySql, retentionDays: number): Promise<number> {
  if (!Number.isInteger(retentionDays) || retentionDays < AUDIT_RETENTION_MIN_DAYS || retentionDays > AUDIT_RETENTION_MAX_DAYS) {
    throw new RangeError(
      `pruneAuditEvents: retentionDays must be a whole number from ${AUDIT_RETENTION_MIN_DAYS} to ${AUDIT_RETENTION_MAX_DAYS}, not ${retentionDays}`,
    );
  }
  const rows = await sql.$queryRaw<{ pruned: bigint | number | string }[]>`
    SELECT pc_audit_prune(${retentionDays}::integer) AS pruned`;
  return Number(rows[0]?.pruned ?? 0);
}
