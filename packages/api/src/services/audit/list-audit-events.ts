import { Prisma } from "@private-connect/db";
import type { ApiDeps, Principal } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { AuditEventView, ListAuditEventsOutput } from "../../schemas/audit.js";
import { type AuditFilter, resolveSince } from "./audit-filter.js";

interface AuditEventRow {
  id: string;
  occurred_at_text: string;
  type: string;
  action: string;
  actor_type: string;
  actor_id: string | null;
  client_type: string | null;
  target: string | null;
  reason: string | null;
  ip: string | null;
  user_agent: string | null;
  data: unknown;
}

const INVALID_CURSOR =
  "Invalid cursor: pass the nextCursor of the previous page as before, or leave it out to start from the newest";
/** PostgreSQL keeps microseconds; a cursor must too, or events of the same millisecond get skipped. */
const CURSOR_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The workspace's audit events, newest first, filtered by type, action and period, one page at a
 * time. For any principal of the workspace (agent, API key, member): row-level security keeps it
 * to the caller's own workspace whatever the filter says.
 */
export async function listAuditEvents(
  deps: ApiDeps,
  principal: Principal,
  input: AuditFilter & { limit: number; before?: string | undefined },
): Promise<ListAuditEventsOutput> {
  const { workspaceId } = principal;
  const since = resolveSince(deps, input.since);
  const cursor = input.before === undefined ? undefined : decodeCursor(input.before);
  const conditions: Prisma.Sql[] = [Prisma.sql`workspace_id = ${workspaceId}::uuid`];
  if (input.type !== undefined) conditions.push(Prisma.sql`type = ${input.type}`);
  if (input.action !== undefined) conditions.push(Prisma.sql`action = ${input.action}`);
  if (since !== undefined) conditions.push(Prisma.sql`occurred_at >= ${since.toISOString()}::timestamptz`);
  if (cursor !== undefined) {
    // Row comparison: the same order as ORDER BY, so paging neither skips nor repeats an event,
    // even among events of the same instant.
    conditions.push(Prisma.sql`(occurred_at, id) < (${cursor.occurredAt}::timestamptz, ${cursor.id}::uuid)`);
  }
  // One more than asked tells whether there is a next page.
  const rows = await deps.db.withWorkspace(
    workspaceId,
    (tx) =>
      tx.$queryRaw<AuditEventRow[]>`
      SELECT id::text AS id,
             to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at_text,
             type, action, actor_type, actor_id::text AS actor_id, client_type, target, reason, ip, user_agent, data
        FROM audit_events
       WHERE ${Prisma.join(conditions, " AND ")}
       ORDER BY occurred_at DESC, id DESC
       LIMIT ${input.limit + 1}`,
  );
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    events: page.map(toAuditEventView),
    nextCursor: rows.length > input.limit && last !== undefined ? encodeCursor(last.occurred_at_text, last.id) : null,
  };
}

function toAuditEventView(row: AuditEventRow): AuditEventView {
  return {
    id: row.id,
    occurredAt: new Date(row.occurred_at_text).toISOString(),
    type: row.type,
    action: row.action,
    actor: { type: toActorType(row.actor_type), id: row.actor_id },
    clientType: row.client_type,
    target: row.target,
    reason: row.reason,
    ip: row.ip,
    userAgent: row.user_agent,
    data: readData(row.data),
  };
}

function toActorType(value: string): AuditEventView["actor"]["type"] {
  // The CHECK constraint allows exactly these.
  return value === "user" || value === "api_key" || value === "agent" ? value : "system";
}

/** jsonb arrives parsed from pg and as text from some adapters; the column is always an object. */
function readData(value: unknown): AuditEventView["data"] {
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as AuditEventView["data"]) : {};
}

/** Opaque to callers: base64url of "<time with microseconds> <id>". */
function encodeCursor(occurredAt: string, id: string): string {
  return Buffer.from(`${occurredAt} ${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { occurredAt: string; id: string } {
  const [occurredAt, id, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split(" ");
  if (
    occurredAt === undefined ||
    id === undefined ||
    rest.length > 0 ||
    !CURSOR_TIME_PATTERN.test(occurredAt) ||
    !UUID_PATTERN.test(id) ||
    Number.isNaN(Date.parse(occurredAt))
  ) {
    throw new AppError("BAD_REQUEST", INVALID_CURSOR);
  }
  return { occurredAt, id };
}
