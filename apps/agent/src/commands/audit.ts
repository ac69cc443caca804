import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { formatTable } from "../cli/format-table.js";
import { parseDuration } from "../cli/parse-duration.js";
import type { AuditEvent, AuditStatsResult } from "../sdk/audit.js";

/** Long targets and reasons are cut in the table (--json has them whole). */
const MAX_CELL_LENGTH = 80;
const ISO_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

export default class Audit extends BaseCommand<typeof Audit> {
  static override summary = "show your workspace's audit log, newest first, or counts by type and action";
  static override description =
    "Reads the hub's audit log for this agent's workspace: agent connections and token use, exposures, shares and links, sign-ins, API keys, member changes, and the actions AI agent runtimes reported as allowed, sent for review or blocked. Works whether or not the agent is running (it uses the saved identity). --stats prints how many events of each type and each action the period holds.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> audit",
    "<%= config.bin %> audit --type file --action block --since 24h",
    "<%= config.bin %> audit --since 7d --limit 500 --json",
    "<%= config.bin %> audit --stats --since 30d",
  ];
  static override flags = {
    limit: Flags.integer({ description: "how many events to show, newest first (1-1000)", default: 100, min: 1, max: 1000 }),
    type: Flags.string({ description: "only events of this type, for example file, command, service, token", helpValue: "TYPE" }),
    action: Flags.string({
      description: "only events with this action, for example block, review, allow, expose",
      helpValue: "ACTION",
    }),
    since: Flags.string({
      description: "only events of the last 90m, 12h, 7d, 2w... or since an ISO time such as 2030-01-31T00:00:00Z",
      helpValue: "DURATION",
    }),
    stats: Flags.boolean({ description: "print counts by type and by action over the period instead", exclusive: ["limit"] }),
  };

  async run(): Promise<AuditEvent[] | AuditStatsResult> {
    const { flags } = this;
    const since = flags.since === undefined ? undefined : parseSince(flags.since);
    const filter = {
      ...(flags.type === undefined ? {} : { type: flags.type.trim() }),
      ...(flags.action === undefined ? {} : { action: flags.action.trim() }),
      ...(since === undefined ? {} : { since }),
    };
    if (flags.stats) {
      const stats = await this.callHubAsAgent((client) => client.audit.stats.query(filter));
      if (!this.jsonEnabled()) this.log(formatAuditStats(stats));
      return stats;
    }
    const { events } = await this.callHubAsAgent((client) => client.audit.list.query({ ...filter, limit: flags.limit }));
    if (!this.jsonEnabled()) this.log(formatAuditEvents(events));
    return events;
  }
}

/** `--since 24h` becomes seconds before the hub's now; an ISO time is passed as is. */
function parseSince(text: string): number | string {
  const trimmed = text.trim();
  if (ISO_TIME_PATTERN.test(trimmed) && !Number.isNaN(Date.parse(trimmed))) return new Date(trimmed).toISOString();
  return parseDuration(trimmed, "--since");
}

export function formatAuditEvents(events: AuditEvent[]): string {
  if (events.length === 0) return "No audit events match: widen --since or drop --type / --action";
  return formatTable(
    ["Timestamp", "Type", "Action", "Target", "Reason"],
    events.map((event) => [
      event.occurredAt.replace(/\.\d{3}Z$/, "Z"),
      toCell(event.type),
      toCell(event.action),
      toCell(event.target),
      toCell(event.reason),
    ]),
  );
}

export function formatAuditStats(stats: AuditStatsResult): string {
  const period = stats.since === null ? "kept" : `since ${stats.since.replace(/\.\d{3}Z$/, "Z")}`;
  const lines = [`${stats.total} audit ${stats.total === 1 ? "event" : "events"} ${period}`];
  if (stats.total === 0) return lines.join("\n");
  lines.push(
    "",
    formatTable(
      ["Type", "Count"],
      stats.byType.map((group) => [toCell(group.type), String(group.count)]),
    ),
    "",
    formatTable(
      ["Action", "Count"],
      stats.byAction.map((group) => [toCell(group.action), String(group.count)]),
    ),
  );
  return lines.join("\n");
}

/**
 * One line of printable text: the hub refuses control characters in reports, and the terminal
 * of whoever reads the log must not take orders from an audit line anyway.
 */
function toCell(value: string | null): string {
  if (value === null || value === "") return "-";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point.
  const printable = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return printable.length > MAX_CELL_LENGTH ? `${printable.slice(0, MAX_CELL_LENGTH - 1)}…` : printable;
}
