import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { escapeUnprintable } from "@private-connect/protocol";
import { z } from "zod";
import type { ControlClient } from "../daemon/control-client.js";
import { describeError } from "../errors.js";
import { AGENT_VERSION } from "../version.js";
import { auditToolCall, type ToolCallRecord } from "./audit-tool-call.js";
import { describeToolError } from "./describe-tool-error.js";
import type { HubGateway } from "./hub-gateway.js";
import type { McpClientInfo, McpTool, McpToolContext } from "./mcp-tool.js";
import { mcpTools } from "./mcp-tools.js";

export interface CreateMcpServerOptions {
  control: ControlClient;
  hub: HubGateway;
  workingDir: string;
  /** connect mcp --allow-expose: offer the tools that expose or share this machine's services. */
  isExposeAllowed: boolean;
  log(line: string): void;
  /** The tools to serve; default: all of them (tests pass their own). */
  tools?: readonly McpTool[];
}

const UNKNOWN_CLIENT: McpClientInfo = { name: "unknown", version: "unknown" };

/**
 * The MCP server of `connect mcp`. Built on the SDK's low-level Server rather than McpServer on
 * purpose: McpServer answers a call to an unlisted tool, or one with invalid arguments, before
 * any code of ours runs, and a security product must audit those refusals too. Here every
 * tools/call goes through callTool, which records it before anything is done.
 */
export function createMcpServer(options: CreateMcpServerOptions): Server {
  const tools = options.tools ?? mcpTools;
  const offered = tools.filter((tool) => options.isExposeAllowed || tool.needsAllowExpose !== true);
  const server = new Server(
    { name: "private-connect", version: AGENT_VERSION },
    {
      capabilities: { tools: {} },
      instructions:
        "Private Connect: list, reach and check the private services (databases, caches, internal APIs) of this workspace through its running agent. Every tool call is recorded in the workspace's audit log.",
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: offered.map(describeTool) }));
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    const client = readClientInfo(server.getClientVersion());
    const context: McpToolContext = {
      control: options.control,
      hub: options.hub,
      workingDir: options.workingDir,
      client,
      log: options.log,
    };
    return callTool({ tools, isExposeAllowed: options.isExposeAllowed, context }, request.params.name, request.params.arguments);
  });
  return server;
}

interface CallSetup {
  tools: readonly McpTool[];
  isExposeAllowed: boolean;
  context: McpToolContext;
}

async function callTool(setup: CallSetup, name: string, args: Record<string, unknown> | undefined): Promise<CallToolResult> {
  const { context } = setup;
  const refuse = async (reason: string, record: Omit<ToolCallRecord, "action" | "reason" | "client">) => {
    await auditQuietly(context, { ...record, action: "block", reason, client: context.client });
    return createToolError(reason);
  };
  const tool = setup.tools.find((candidate) => candidate.name === name);
  if (tool === undefined) {
    return refuse(`No tool ${name} here: ask for the list of tools`, { tool: name, target: name });
  }
  if (tool.needsAllowExpose === true && !setup.isExposeAllowed) {
    // Not even listed; an AI client that calls it anyway is told no, and the attempt is kept.
    return refuse(`${name} is off: exposing or sharing services through MCP needs the user to start connect mcp --allow-expose`, {
      tool: name,
      target: name,
    });
  }
  const parsed = tool.inputSchema.safeParse(args ?? {});
  if (!parsed.success) {
    return refuse(`Invalid arguments for ${name}: ${describeIssues(parsed.error)}`, { tool: name, target: name });
  }
  const input = parsed.data;
  const target = tool.describeTarget(input);
  let refusal: string | undefined;
  try {
    refusal = await tool.findRefusal?.(input, context);
  } catch (error) {
    refusal = describeToolError(error, context.control.socketPath);
  }
  if (refusal !== undefined) return refuse(refusal, { tool: name, target, arguments: input });
  try {
    await auditToolCall(context.hub, { tool: name, action: "allow", target, client: context.client, arguments: input });
  } catch (error) {
    // A change nobody can trace afterwards is not made; a read may go on, the failure is logged.
    if (tool.isChanging) {
      return createToolError(
        `Not done: ${name} changes what this agent does, and the call could not be recorded in the audit log (${describeError(error)}); try again once the hub answers`,
      );
    }
    context.log(`Could not record ${target} in the audit log: ${describeError(error)}`);
  }
  try {
    const answer = await tool.run(input, context);
    return {
      content: [{ type: "text", text: toPrintableLines(answer.text) }],
      structuredContent: tool.outputSchema.parse(answer.structured) as Record<string, unknown>,
    };
  } catch (error) {
    return createToolError(describeToolError(error, context.control.socketPath));
  }
}

/** Records a refusal; the refusal stands whether or not the hub took the record. */
async function auditQuietly(context: McpToolContext, record: ToolCallRecord): Promise<void> {
  try {
    await auditToolCall(context.hub, record);
  } catch (error) {
    context.log(`Could not record the refused ${record.target} in the audit log: ${describeError(error)}`);
  }
}

function describeTool(tool: McpTool): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: z.toJSONSchema(tool.inputSchema, { target: "draft-7", io: "input" }) as Tool["inputSchema"],
    outputSchema: z.toJSONSchema(tool.outputSchema, { target: "draft-7", io: "output" }) as Tool["outputSchema"],
    annotations: { readOnlyHint: !tool.isChanging, openWorldHint: false },
  };
}

function createToolError(text: string): CallToolResult {
  return { content: [{ type: "text", text: toPrintableLines(text) }], isError: true };
}

/**
 * Answers carry the hub's text (service names, some of another workspace's) to clients that
 * often print it in a terminal: every character that would drive it is written out visibly,
 * line by line, as BaseCommand.report does for the CLI.
 */
function toPrintableLines(text: string): string {
  return text.split("\n").map(escapeUnprintable).join("\n");
}

function readClientInfo(implementation: { name: string; version: string } | undefined): McpClientInfo {
  return implementation === undefined ? UNKNOWN_CLIENT : { name: implementation.name, version: implementation.version };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`))
    .join("; ");
}
