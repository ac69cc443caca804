import { realpath } from "node:fs/promises";
import { relative } from "node:path";
import { z } from "zod";
import type { ReachStatus } from "../daemon/control-protocol.js";
import { ConnectError } from "../errors.js";
import {
  assertProjectHub,
  fillConnectionVariables,
  findProjectFile,
  PROJECT_FILE_NAME,
  type ProjectService,
  readProjectFile,
} from "../project/index.js";
import { findPathEscape } from "./find-path-escape.js";
import { defineTool } from "./mcp-tool.js";

const serviceOutput = z.object({
  name: z.string(),
  from: z.string().optional(),
  port: z.number().int().describe("the local port the project expects the service on"),
  isReached: z.boolean().describe("whether this agent reaches it on that port now"),
  reachedPort: z.number().int().nullable().describe("the port this agent reaches it on now, if any (maybe another one)"),
});

export const getConnectionInfoTool = defineTool({
  name: "get_connection_info",
  title: "Connection variables of pconnect.yml",
  description: `Reads the project's ${PROJECT_FILE_NAME} in the directory connect mcp runs in (or file, relative to it: never outside it) and returns the environment variables its services fill in (DATABASE_URL and the like), and whether this agent reaches each service on the port the file names right now.`,
  inputSchema: z.object({
    file: z
      .string()
      .trim()
      .min(1)
      .max(1024)
      .optional()
      .describe(`the project file, relative to the working directory (default ${PROJECT_FILE_NAME})`),
  }),
  outputSchema: z.object({
    file: z.string(),
    services: z.array(serviceOutput),
    variables: z.array(z.object({ service: z.string(), name: z.string(), value: z.string() })),
  }),
  isChanging: false,
  describeTarget: (input) => `get_connection_info ${input.file ?? PROJECT_FILE_NAME}`,
  findRefusal: (input, context) => findPathEscape(context.workingDir, input.file ?? PROJECT_FILE_NAME),
  async run(input, context) {
    const found = findProjectFile(context.workingDir, input.file);
    if (found === undefined) {
      throw new ConnectError(
        "INVALID_INPUT",
        `No ${input.file ?? PROJECT_FILE_NAME} in ${context.workingDir}: start connect mcp in the project's directory, or pass file`,
      );
    }
    // Read what the escape check looked at, the link's target, not a name that may be swapped since.
    const project = await readProjectFile(await realpath(found));
    const status = await context.control.request("status", {});
    assertProjectHub(project, status.hub.url);
    const variables = fillConnectionVariables(project);
    const services = project.services.map((service) => describeReach(service, status.reaches));
    const file = relative(context.workingDir, found);
    return {
      text: formatConnectionInfo(file, services, variables),
      structured: { file, services, variables },
    };
  },
});

function describeReach(service: ProjectService, reaches: readonly ReachStatus[]): z.input<typeof serviceOutput> {
  const reach = reaches.find((candidate) => candidate.service === service.name && candidate.from === service.from);
  return {
    name: service.name,
    ...(service.from === undefined ? {} : { from: service.from }),
    port: service.port,
    isReached: reach?.port === service.port,
    reachedPort: reach?.port ?? null,
  };
}

function formatConnectionInfo(
  file: string,
  services: readonly z.input<typeof serviceOutput>[],
  variables: readonly { name: string; value: string }[],
): string {
  const lines = [`${file}:`, ...variables.map((variable) => `${variable.name}=${variable.value}`)];
  for (const service of services) {
    if (service.isReached) lines.push(`${service.name}: reached on port ${service.port}`);
    else if (service.reachedPort !== null) {
      lines.push(`${service.name}: reached on port ${service.reachedPort}, not on ${service.port} as the file expects`);
    } else lines.push(`${service.name}: not reached; call reach_service with port ${service.port}`);
  }
  return lines.join("\n");
}
