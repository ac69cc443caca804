import { z } from "zod";
import { checkProtocols, checkService } from "../check/check-service.js";
import { ConnectError } from "../errors.js";
import { defineTool } from "./mcp-tool.js";
import { describeService, fromInput, serviceNameInput } from "./service-input.js";

export const checkServiceTool = defineTool({
  name: "check_service",
  title: "Check a service",
  description:
    "Checks a service from this machine, through the tunnel: opens a stream to it through the hub and speaks its protocol (postgres, mysql, redis, http, tls or tcp; guessed when not given), and reports whether it answered as it should, how long the open and the probe took, and what it said (a version, a status).",
  inputSchema: z.object({
    service: serviceNameInput,
    from: fromInput,
    protocol: z.enum(checkProtocols).optional().describe("what the service speaks (default: guessed from its port)"),
  }),
  outputSchema: z.object({
    service: z.string(),
    from: z.string().optional(),
    protocol: z.enum(checkProtocols),
    isProtocolGuessed: z.boolean(),
    isHealthy: z.boolean(),
    openMs: z.number().nullable(),
    probeMs: z.number().nullable(),
    summary: z.string(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    problem: z.string().optional(),
  }),
  // It opens one stream and speaks a probe: nothing is changed on this machine or the hub.
  isChanging: false,
  describeTarget: (input) => `check_service ${describeService(input.service, input.from)}`,
  async run(input, context) {
    const report = await checkService(context.control, {
      service: input.service,
      ...(input.from === undefined ? {} : { from: input.from }),
      ...(input.protocol === undefined ? {} : { protocol: input.protocol }),
    });
    // A check of nothing is a wrong call, not an unhealthy service: the client gets a tool error.
    if (!report.isHealthy && report.openMs === null && report.problem?.startsWith("Service not found")) {
      throw new ConnectError(
        "SERVICE_NOT_FOUND",
        `Service not found: this agent can reach no service ${describeService(input.service, input.from)}; call list_services for the ones it can`,
      );
    }
    const text = report.problem === undefined ? report.summary : `${report.summary}\n${report.problem}`;
    return { text, structured: report };
  },
});
