import { describe, expect, it } from "vitest";
import { createFakeMcpAgent } from "../test-support/fake-mcp-agent.js";
import { reportActionTool } from "./report-action-tool.js";

describe("report_action", () => {
  it("records the action through the agent's identity, with the MCP client that reported it", async () => {
    const fake = createFakeMcpAgent();
    const input = reportActionTool.inputSchema.parse({ type: "file", action: "block", target: "/etc/shadow", reason: "outside" });
    const answer = await reportActionTool.run(input, fake.context());
    expect(fake.reports).toEqual([
      {
        type: "file",
        action: "block",
        target: "/etc/shadow",
        reason: "outside",
        data: { via: "mcp", client: { name: "test-client", version: "1.0.0" } },
      },
    ]);
    expect(answer.structured).toEqual({ occurredAt: "2030-01-31T10:00:00.000Z" });
  });

  it("refuses the mcp type, so a client cannot forge this server's own record of a tool call", async () => {
    const fake = createFakeMcpAgent();
    const refusal = await reportActionTool.findRefusal?.(
      { type: "mcp", action: "allow", target: "expose_service" },
      fake.context(),
    );
    expect(refusal).toMatch(/^type mcp is this server's record of tool calls/);
    expect(await reportActionTool.findRefusal?.({ type: "file", action: "allow", target: "x" }, fake.context())).toBeUndefined();
  });

  it("refuses an action other than allow, review or block before the hub sees it", () => {
    expect(reportActionTool.inputSchema.safeParse({ type: "file", action: "deny", target: "x" }).success).toBe(false);
  });
});
