import { dirname } from "node:path";
import { describeError, isConnectError } from "../errors.js";

/**
 * The text of a failed tool call, for the AI client and the person reading its transcript. The
 * agent's own messages already say what to do next; "no agent" is said in the terms of this
 * server, whose every tool acts through that agent.
 */
export function describeToolError(error: unknown, socketPath: string): string {
  if (isConnectError(error, "AGENT_NOT_RUNNING")) {
    return `No agent is running for ${dirname(socketPath)}: run connect up (connect mcp acts through the running agent of its config directory)`;
  }
  return describeError(error);
}
