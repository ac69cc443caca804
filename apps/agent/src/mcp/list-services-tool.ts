import { z } from "zod";
import { formatHostPort } from "../cli/format.js";
import type { ReachStatus } from "../daemon/control-protocol.js";
import { findReachableService, type ServiceListEntry } from "../sdk/services.js";
import { defineTool } from "./mcp-tool.js";

const reachOutput = z.object({ host: z.string(), port: z.number().int() });

const serviceOutput = z.object({
  name: z.string(),
  from: z.string().nullable().describe("null for this workspace's own service; else the workspace that shared it"),
  shareName: z.string().nullable(),
  online: z.boolean().describe("whether the agent exposing it is connected to the hub now"),
  agentLabel: z.string().nullable(),
  reach: reachOutput.nullable().describe("where this agent listens for it now; null when it does not reach it"),
});

export const listServicesTool = defineTool({
  name: "list_services",
  title: "List services",
  description:
    "Lists the services this agent can reach: its workspace's own and those other workspaces shared with it, each online or offline, and the local host and port of those it reaches now.",
  inputSchema: z.object({}),
  outputSchema: z.object({ services: z.array(serviceOutput) }),
  isChanging: false,
  describeTarget: () => "list_services",
  async run(_input, context) {
    // The status first: without a running agent there is nothing to reach through.
    const status = await context.control.request("status", {});
    const entries = await context.hub.listReachableServices();
    const services = entries.map((entry) => ({
      name: entry.name,
      from: entry.from,
      shareName: entry.shareName,
      online: entry.online,
      agentLabel: entry.agentLabel,
      reach: findReachOf(entry, entries, status.reaches),
    }));
    return { text: formatServiceLines(services), structured: { services } };
  },
});

/** The reach that goes to `entry`, as the hub resolves a reach's name and --from. */
function findReachOf(
  entry: ServiceListEntry,
  entries: readonly ServiceListEntry[],
  reaches: readonly ReachStatus[],
): { host: string; port: number } | null {
  const reach = reaches.find((candidate) => findReachableService(entries, candidate.service, candidate.from) === entry);
  return reach === undefined ? null : { host: reach.host, port: reach.port };
}

function formatServiceLines(
  services: readonly { name: string; from: string | null; online: boolean; reach: { host: string; port: number } | null }[],
): string {
  if (services.length === 0) return "No services to reach yet: expose one with connect expose, or join a share with connect join";
  return services
    .map((service) => {
      const whose = service.from === null ? "" : ` (from ${service.from})`;
      const reach = service.reach === null ? "" : `, reached on ${formatHostPort(service.reach.host, service.reach.port)}`;
      return `${service.name}${whose}: ${service.online ? "online" : "offline"}${reach}`;
    })
    .join("\n");
}
