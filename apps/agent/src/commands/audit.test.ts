import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../sdk/audit.js";
import { formatAuditEvents, formatAuditStats } from "./audit.js";

function event(overrides: Partial<AuditEvent>): AuditEvent {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    occurredAt: "2030-01-31T09:15:02.123Z",
    type: "file",
    action: "block",
    actor: { type: "agent", id: "00000000-0000-4000-8000-0000000000aa" },
    clientType: "claude-code",
    target: "/etc/shadow",
    reason: "outside the project",
    ip: "10.0.0.8",
    userAgent: null,
    data: {},
    ...overrides,
  };
}

describe("connect audit output", () => {
  it("prints Timestamp, Type, Action, Target and Reason, with - for what an event lacks", () => {
    expect(
      formatAuditEvents([
        event({}),
        event({ occurredAt: "2030-01-31T09:00:00.000Z", type: "service", action: "expose", target: "prod-db", reason: null }),
      ]),
    ).toBe(
      [
        "Timestamp             Type     Action  Target       Reason",
        "2030-01-31T09:15:02Z  file     block   /etc/shadow  outside the project",
        "2030-01-31T09:00:00Z  service  expose  prod-db      -",
      ].join("\n"),
    );
  });

  it("cuts long cells and never passes control characters to the terminal", () => {
    const [, row] = formatAuditEvents([event({ target: `/${"a".repeat(200)}`, reason: "line\nbreak \u001b[2J" })]).split("\n");
    expect(row).toContain(`/${"a".repeat(78)}…`);
    expect(row).toContain("line?break ?[2J");
    expect(row).not.toContain("\n");
    expect(row).not.toContain("\u001b");
  });

  it("says how to widen the search when nothing matches", () => {
    expect(formatAuditEvents([])).toBe("No audit events match: widen --since or drop --type / --action");
  });

  it("prints counts by type and by action, most frequent first as the hub sorted them", () => {
    expect(
      formatAuditStats({
        since: "2030-01-30T09:00:00.000Z",
        total: 5,
        byType: [
          { type: "command", count: 3 },
          { type: "file", count: 2 },
        ],
        byAction: [
          { action: "allow", count: 4 },
          { action: "block", count: 1 },
        ],
      }),
    ).toBe(
      [
        "5 audit events since 2030-01-30T09:00:00Z",
        "",
        "Type     Count",
        "command  3",
        "file     2",
        "",
        "Action  Count",
        "allow   4",
        "block   1",
      ].join("\n"),
    );
    expect(formatAuditStats({ since: null, total: 0, byType: [], byAction: [] })).toBe("0 audit events kept");
  });
});
