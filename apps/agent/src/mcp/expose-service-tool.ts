import { z } from "zod";
import { formatHostPort } from "../cli/format.js";
import { e2ePolicySchema } from "../config/state.js";
import { defineTool } from "./mcp-tool.js";
import { serviceNameInput } from "./service-input.js";

export const exposeServiceTool = defineTool({
  name: "expose_service",
  title: "Expose a service of this machine",
  description:
    "Makes the running agent announce a TCP service of this machine (HOST:PORT) to the workspace under a name, so the workspace's agents can reach it; saved and restored when the agent restarts. Offered only when connect mcp runs with --allow-expose.",
  inputSchema: z.object({
    name: serviceNameInput.describe("name others reach it by, for example prod-db"),
    host: z.string().trim().min(1).max(253).default("127.0.0.1").describe("host of the service on this machine"),
    port: z.number().int().min(1).max(65535),
    e2e: e2ePolicySchema.default("preferred").describe("end-to-end encryption between the agents: required, preferred or off"),
  }),
  outputSchema: z.object({ name: z.string(), host: z.string(), port: z.number().int(), e2e: z.string().optional() }),
  isChanging: true,
  needsAllowExpose: true,
  describeTarget: (input) => `expose_service ${input.name} ${formatHostPort(input.host, input.port)}`,
  async run(input, context) {
    const exposure = await context.control.request("expose", {
      name: input.name,
      host: input.host,
      port: input.port,
      e2e: input.e2e,
    });
    return {
      text: `Exposing ${exposure.name} -> ${formatHostPort(exposure.host, exposure.port)}`,
      structured: {
        name: exposure.name,
        host: exposure.host,
        port: exposure.port,
        ...(exposure.e2e === undefined ? {} : { e2e: exposure.e2e }),
      },
    };
  },
});
