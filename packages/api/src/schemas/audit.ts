import { z } from "zod";
import type { AuditEventType } from "../services/audit/record-audit-event.js";

/** What an agent runtime (or its guard) did with an action it was about to take. */
export const REPORTED_ACTIONS = ["allow", "review", "block"] as const;
export type ReportedAction = (typeof REPORTED_ACTIONS)[number];

/**
 * Types the hub records itself. A runtime cannot report one, so `connect audit --type token`
 * shows what the hub saw, never something an agent claimed. A Record, so that a type added to
 * AuditEventType without being reserved here does not compile.
 */
const hubEventTypes: Record<AuditEventType, true> = {
  agent: true,
  token: true,
  service: true,
  share: true,
  link: true,
  user: true,
  api_key: true,
  member: true,
  workspace: true,
  e2e: true,
};
export const HUB_EVENT_TYPES: readonly string[] = Object.keys(hubEventTypes);

/** The same bounds as the audit_events CHECK constraints, so a report never fails in the database. */
export const AUDIT_TYPE_MAX_LENGTH = 64;
export const AUDIT_TARGET_MAX_LENGTH = 1024;
export const AUDIT_REASON_MAX_LENGTH = 1024;
/** `data` of a report, as JSON text: enough for a command line or a file list, not for a payload. */
export const AUDIT_DATA_MAX_BYTES = 8 * 1024;
export const AUDIT_LIST_MAX_LIMIT = 1000;
export const AUDIT_LIST_DEFAULT_LIMIT = 100;
/** `since` in seconds reaches back at most ten years, the longest AUDIT_RETENTION_DAYS. */
export const AUDIT_SINCE_MAX_SECONDS = 3650 * 86_400;

export const AUDIT_TYPE_PATTERN = /^[a-z0-9][a-z0-9._:-]*$/;
// Control characters (including NUL, which PostgreSQL text refuses, and ESC, which would let a
// report drive the terminal of whoever runs `connect audit`) have no place in an audit line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

const auditType = z
  .string()
  .min(1, "type must not be empty: say what kind of action this was, for example file or command")
  .max(AUDIT_TYPE_MAX_LENGTH, `type must be at most ${AUDIT_TYPE_MAX_LENGTH} characters`)
  .regex(
    AUDIT_TYPE_PATTERN,
    "type must be lowercase letters, digits, '.', '_', ':' or '-', starting with a letter or digit (for example file, command, network)",
  );

function printableText(field: string, max: number) {
  return z
    .string()
    .max(max, `${field} must be at most ${max} characters`)
    .refine((text) => !CONTROL_CHARACTERS.test(text), `${field} must not contain control characters or line breaks`);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Strings PostgreSQL's jsonb cannot store: NUL and lone UTF-16 surrogates, at any depth. */
function hasUnstorableText(value: unknown): boolean {
  if (typeof value === "string") return value.includes("\u0000") || LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasUnstorableText);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).some(([key, inner]) => hasUnstorableText(key) || hasUnstorableText(inner));
  }
  return false;
}

const reportData = z
  .record(z.string().min(1).max(128), z.json())
  .refine(
    (data) => Buffer.byteLength(JSON.stringify(data)) <= AUDIT_DATA_MAX_BYTES,
    `data must be at most ${AUDIT_DATA_MAX_BYTES} bytes as JSON: keep the facts (a path, a command), not the content`,
  )
  .refine((data) => !hasUnstorableText(data), "data must not contain NUL characters or unpaired surrogates");

export const reportActionInput = z.object({
  type: auditType.refine(
    (type) => !HUB_EVENT_TYPES.includes(type),
    `type must not be one the hub records itself (${HUB_EVENT_TYPES.join(", ")}): use your own, for example file or command`,
  ),
  action: z.enum(REPORTED_ACTIONS, "action must be allow, review or block"),
  target: printableText("target", AUDIT_TARGET_MAX_LENGTH).min(
    1,
    "target must not be empty: say what the action was on, for example a path or a command",
  ),
  reason: printableText("reason", AUDIT_REASON_MAX_LENGTH).optional(),
  data: reportData.optional(),
});
export type ReportActionInput = z.input<typeof reportActionInput>;

export const reportActionOutput = z.object({ occurredAt: z.iso.datetime() });
export type ReportActionOutput = z.infer<typeof reportActionOutput>;

/**
 * How far back to look: a number of seconds before now (what `--since 24h` becomes), or an ISO
 * 8601 time.
 */
export const auditSince = z.union([
  z
    .number()
    .int("since must be a whole number of seconds")
    .min(1, "since must be at least 1 second")
    .max(AUDIT_SINCE_MAX_SECONDS, `since must be at most ${AUDIT_SINCE_MAX_SECONDS} seconds (ten years)`),
  z.iso.datetime({ offset: true, message: "since must be seconds or an ISO time such as 2030-01-31T00:00:00Z" }),
]);

// Filters take any short string: a type nobody recorded simply matches nothing.
const auditFilterText = z.string().min(1).max(AUDIT_TYPE_MAX_LENGTH);

export const auditFilterInput = z.object({
  type: auditFilterText.optional(),
  action: auditFilterText.optional(),
  since: auditSince.optional(),
});

export const listAuditEventsInput = auditFilterInput
  .extend({
    limit: z
      .number()
      .int("limit must be a whole number")
      .min(1, `limit must be between 1 and ${AUDIT_LIST_MAX_LIMIT}`)
      .max(AUDIT_LIST_MAX_LIMIT, `limit must be between 1 and ${AUDIT_LIST_MAX_LIMIT}`)
      .default(AUDIT_LIST_DEFAULT_LIMIT),
    /** The nextCursor of the previous page: events strictly older than its last one. */
    before: z.string().min(1).max(200).optional(),
  })
  .prefault({});
export type ListAuditEventsInput = z.input<typeof listAuditEventsInput>;

export const auditStatsInput = auditFilterInput.prefault({});
export type AuditStatsInput = z.input<typeof auditStatsInput>;

export const auditEventView = z.object({
  id: z.uuid(),
  occurredAt: z.iso.datetime(),
  type: z.string(),
  action: z.string(),
  actor: z.object({ type: z.enum(["user", "api_key", "agent", "system"]), id: z.uuid().nullable() }),
  clientType: z.string().nullable(),
  target: z.string().nullable(),
  reason: z.string().nullable(),
  /** Whole, as recorded: the audit log is where addresses are kept for investigation. */
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  data: z.record(z.string(), z.json()),
});
export type AuditEventView = z.infer<typeof auditEventView>;

export const listAuditEventsOutput = z.object({
  /** Newest first. */
  events: z.array(auditEventView),
  /** Pass as `before` for the next (older) page; null when this was the last one. */
  nextCursor: z.string().nullable(),
});
export type ListAuditEventsOutput = z.infer<typeof listAuditEventsOutput>;

export const auditStatsOutput = z.object({
  /** The start of the period counted, or null for everything kept. */
  since: z.iso.datetime().nullable(),
  total: z.number().int(),
  /** Most frequent first. */
  byType: z.array(z.object({ type: z.string(), count: z.number().int() })),
  byAction: z.array(z.object({ action: z.string(), count: z.number().int() })),
});
export type AuditStatsOutput = z.infer<typeof auditStatsOutput>;
