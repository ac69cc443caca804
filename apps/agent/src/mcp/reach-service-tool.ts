import { z } from "zod";
import { formatHostPort } from "../cli/format.js";
import { ConnectError, describeError, isConnectError } from "../errors.js";
import type { ReachInfo } from "../sdk/agent.js";
import { findReachableService } from "../sdk/services.js";
import { defineTool, type McpToolContext } from "./mcp-tool.js";
import { describeService, fromInput, serviceNameInput } from "./service-input.js";

/** Where a reach listens: loopback only. An AI client must not open a service to the whole network. */
const REACH_HOST = "127.0.0.1";

export const reachServiceTool = defineTool({
  name: "reach_service",
  title: "Reach a service",
  description:
    "Makes the running agent listen on a local port (127.0.0.1) and relay each connection to the service through the hub; returns the host and port to connect to. The port stays bound until stop_reach.",
  inputSchema: z.object({
    service: serviceNameInput,
    from: fromInput,
    port: z.number().int().min(0).max(65535).optional().describe("local port to listen on (default: a free one)"),
  }),
  outputSchema: z.object({
    service: z.string(),
    from: z.string().optional(),
    host: z.string(),
    port: z.number().int(),
    online: z.boolean().optional().describe("whether the service's agent is connected now; absent when the hub could not say"),
  }),
  isChanging: true,
  describeTarget: (input) => `reach_service ${describeService(input.service, input.from)}`,
  async run(input, context) {
    let reach: ReachInfo;
    try {
      reach = await context.control.request("reach", {
        service: input.service,
        host: REACH_HOST,
        ...(input.port === undefined ? {} : { port: input.port }),
        ...(input.from === undefined ? {} : { from: input.from }),
      });
    } catch (error) {
      if (isConnectError(error, "SERVICE_NOT_FOUND")) {
        throw new ConnectError(
          "SERVICE_NOT_FOUND",
          `Service not found: this agent can reach no service ${describeService(input.service, input.from)}; call list_services for the ones it can`,
          { cause: error },
        );
      }
      throw error;
    }
    const online = await readOnline(context, reach.service, reach.from);
    const where = formatHostPort(reach.host, reach.port);
    const warning =
      online === false ? ` (offline now: connections are closed until the agent exposing it connects to the hub)` : "";
    return {
      text: `Reaching ${describeService(reach.service, reach.from)} on ${where}${warning}`,
      structured: {
        service: reach.service,
        ...(reach.from === undefined ? {} : { from: reach.from }),
        host: reach.host,
        port: reach.port,
        ...(online === undefined ? {} : { online }),
      },
    };
  },
});

/** Whether the reached service has an agent behind it now; undefined when the hub cannot say (the reach stands). */
async function readOnline(context: McpToolContext, service: string, from: string | undefined): Promise<boolean | undefined> {
  try {
    return findReachableService(await context.hub.listReachableServices(), service, from)?.online;
  } catch (error) {
    context.log(`Could not check whether ${service} is online: ${describeError(error)}`);
    return undefined;
  }
}
