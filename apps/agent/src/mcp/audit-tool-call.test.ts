import { describe, expect, it } from "vitest";
import { createToolCallReport, toAuditText } from "./audit-tool-call.js";

const client = { name: "claude-code", version: "2.0.1" };

describe("auditing a tool call", () => {
  it("records type mcp, the action, the target and the client's name and version", () => {
    expect(
      createToolCallReport({
        tool: "stop_reach",
        action: "allow",
        target: "stop_reach db",
        client,
        arguments: { service: "db" },
      }),
    ).toEqual({
      type: "mcp",
      action: "allow",
      target: "stop_reach db",
      data: { tool: "stop_reach", client, arguments: { service: "db" } },
    });
  });

  it("writes an AI client's control characters out visibly and keeps within the hub's bounds", () => {
    const report = createToolCallReport({
      tool: "reach_service",
      action: "block",
      target: `reach_service ${"x".repeat(2000)}`,
      reason: "bad\nline",
      client: { name: "evil\u001b]0;title\u0007", version: "1" },
      arguments: { service: "a\u0000b" },
    });
    expect(report.target).toHaveLength(1024);
    expect(report.reason).toBe("bad\\nline");
    expect(report.data).toMatchObject({ client: { name: "evil\\x1b]0;title\\x07" }, arguments: { service: "a\\x00b" } });
  });

  it("keeps large arguments as their size only", () => {
    const report = createToolCallReport({
      tool: "t",
      action: "allow",
      target: "t",
      client,
      arguments: { text: "y".repeat(5000) },
    });
    expect(report.data?.arguments).toEqual({ isTruncated: true, bytes: 5011 });
  });

  it("cuts long text with an ellipsis", () => {
    expect(toAuditText("abcdef", 5)).toBe("ab...");
    expect(toAuditText("abc", 5)).toBe("abc");
  });
});
