import { escapeUnprintable } from "@private-connect/protocol";
import type { ReportActionInput } from "../sdk/audit.js";
import type { HubGateway } from "./hub-gateway.js";
import type { McpClientInfo } from "./mcp-tool.js";

/** The audit type of every MCP tool call; report_action refuses it, so a client cannot forge one. */
export const MCP_AUDIT_TYPE = "mcp";

/** The hub's bounds (packages/api/src/schemas/audit.ts): a longer record would be refused whole. */
const MAX_TARGET_LENGTH = 1024;
const MAX_REASON_LENGTH = 1024;
const MAX_CLIENT_TEXT_LENGTH = 128;
/** Room for the arguments within the hub's 8 KiB of data, next to the client's name. */
const MAX_ARGUMENTS_BYTES = 4 * 1024;

export interface ToolCallRecord {
  tool: string;
  /** "allow": the call was let through; "block": refused (not offered, invalid, outside policy). */
  action: "allow" | "block";
  target: string;
  reason?: string;
  client: McpClientInfo;
  /** The validated arguments; absent for a call refused before they were read. */
  arguments?: Record<string, unknown>;
}

/**
 * Records one tool call in the workspace's audit log, with this agent as the actor (the hub adds
 * its client type) and the MCP client's name and version in data. Every text comes from the AI
 * client, so control characters are written out visibly and lengths are cut to the hub's bounds:
 * a record the hub refused would leave no trace of the call at all.
 */
export async function auditToolCall(hub: HubGateway, record: ToolCallRecord): Promise<void> {
  await hub.reportAction(createToolCallReport(record));
}

export function createToolCallReport(record: ToolCallRecord): ReportActionInput {
  const data: Record<string, unknown> = {
    tool: record.tool,
    client: {
      name: toAuditText(record.client.name, MAX_CLIENT_TEXT_LENGTH),
      version: toAuditText(record.client.version, MAX_CLIENT_TEXT_LENGTH),
    },
  };
  if (record.arguments !== undefined) data.arguments = boundArguments(record.arguments);
  return {
    type: MCP_AUDIT_TYPE,
    action: record.action,
    target: toAuditText(record.target, MAX_TARGET_LENGTH) || record.tool,
    ...(record.reason === undefined ? {} : { reason: toAuditText(record.reason, MAX_REASON_LENGTH) }),
    data: data as NonNullable<ReportActionInput["data"]>,
  };
}

/** Printable (control characters written out as \x1b and the like) and at most `max` characters. */
export function toAuditText(text: string, max: number): string {
  const printable = escapeUnprintable(text);
  return printable.length <= max ? printable : `${printable.slice(0, max - 3)}...`;
}

function boundArguments(input: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(input, (_key, value: unknown) => (typeof value === "string" ? escapeUnprintable(value) : value));
  if (Buffer.byteLength(text) > MAX_ARGUMENTS_BYTES) return { isTruncated: true, bytes: Buffer.byteLength(text) };
  return JSON.parse(text) as Record<string, unknown>;
}
