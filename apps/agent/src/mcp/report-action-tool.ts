import { z } from "zod";
import { MCP_AUDIT_TYPE } from "./audit-tool-call.js";
import { defineTool } from "./mcp-tool.js";

export const reportActionTool = defineTool({
  name: "report_action",
  title: "Report an action to the audit log",
  description:
    "Records in the workspace's audit log what you (or the guard in front of you) did with an action: allowed it, sent it for review or blocked it. Report the facts (a path, a command line), never file contents or secrets. The hub refuses its own types (agent, token, service, share, link, user, api_key, member, workspace, e2e) and this server refuses mcp, which is its own record of tool calls.",
  inputSchema: z.object({
    type: z.string().trim().min(1).max(64).describe("your kind of action, for example file, command or network"),
    action: z.enum(["allow", "review", "block"]),
    target: z.string().min(1).max(1024).describe("what the action was on: a path, a command line, a host"),
    reason: z.string().max(1024).optional(),
  }),
  outputSchema: z.object({ occurredAt: z.string() }),
  // It writes to the audit log: when the call itself cannot be recorded, neither is the report.
  isChanging: true,
  describeTarget: (input) => `report_action ${input.type} ${input.action}`,
  async findRefusal(input) {
    if (input.type === MCP_AUDIT_TYPE) {
      return `type ${MCP_AUDIT_TYPE} is this server's record of tool calls: report your action under your own type, for example file or command`;
    }
    return undefined;
  },
  async run(input, context) {
    // Through the running agent's identity, like every other tool: a stopped agent reports nothing.
    await context.control.request("status", {});
    const { occurredAt } = await context.hub.reportAction({
      type: input.type,
      action: input.action,
      target: input.target,
      ...(input.reason === undefined ? {} : { reason: input.reason }),
      data: { via: "mcp", client: { name: context.client.name, version: context.client.version } },
    });
    return { text: `Recorded ${input.action} of ${input.type} ${input.target} at ${occurredAt}`, structured: { occurredAt } };
  },
});
