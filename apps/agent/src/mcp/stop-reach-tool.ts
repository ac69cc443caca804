import { z } from "zod";
import { defineTool } from "./mcp-tool.js";
import { describeService, fromInput, serviceNameInput } from "./service-input.js";

export const stopReachTool = defineTool({
  name: "stop_reach",
  title: "Stop reaching a service",
  description: "Makes the running agent stop listening for a service it reaches (what reach_service started) and frees its port.",
  inputSchema: z.object({ service: serviceNameInput, from: fromInput }),
  outputSchema: z.object({ service: z.string(), from: z.string().optional(), stopped: z.boolean() }),
  isChanging: true,
  describeTarget: (input) => `stop_reach ${describeService(input.service, input.from)}`,
  async run(input, context) {
    // The agent refuses a service it does not reach ("No reach of ..."): that becomes the tool error.
    const { stopped } = await context.control.request(
      "stopReach",
      input.from === undefined ? { service: input.service } : { service: input.service, from: input.from },
    );
    return {
      text: `Stopped reaching ${describeService(input.service, input.from)}`,
      structured: { service: input.service, ...(input.from === undefined ? {} : { from: input.from }), stopped },
    };
  },
});
