import type { z } from "zod";
import type { ControlClient } from "../daemon/control-client.js";
import type { HubGateway } from "./hub-gateway.js";

/** Who is calling, from the MCP initialize handshake: what the audit records next to each call. */
export interface McpClientInfo {
  name: string;
  version: string;
}

/** What a tool acts through: the running agent of the config directory, and the hub as that agent. */
export interface McpToolContext {
  control: ControlClient;
  hub: HubGateway;
  /** The directory connect mcp was started in: the only place get_connection_info reads from. */
  workingDir: string;
  client: McpClientInfo;
  /** A line for the person running the client: stderr, since stdout carries only MCP messages. */
  log(line: string): void;
}

/** A tool's answer: a line or two for people, and the same facts for programs (matching outputSchema). */
export interface McpToolAnswer<O> {
  text: string;
  structured: O;
}

export interface McpTool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  /**
   * Changes something on this machine or the hub (a port bound, a service exposed): such a call
   * is not made when it cannot be audited first. Read-only calls answer and log the audit failure.
   */
  isChanging: boolean;
  /** Exposes or shares this machine's services: offered only under connect mcp --allow-expose. */
  needsAllowExpose?: boolean;
  /** What the audit record names, for example "reach_service prod-db". */
  describeTarget(input: z.output<I>): string;
  /** A reason to refuse before anything is done (a path outside the working directory); audited as block. */
  findRefusal?(input: z.output<I>, context: McpToolContext): Promise<string | undefined>;
  run(input: z.output<I>, context: McpToolContext): Promise<McpToolAnswer<z.input<O>>>;
}

/** Keeps the schemas' types flowing from a tool's definition into its methods. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(tool: McpTool<I, O>): McpTool<I, O> {
  return tool;
}
