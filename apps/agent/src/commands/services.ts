import { BaseCommand } from "../cli/base-command.js";
import { formatTable } from "../cli/format-table.js";
import { listReachableServices, type ServiceListEntry } from "../sdk/services.js";

export default class Services extends BaseCommand<typeof Services> {
  static override summary = "list the services you can reach: your workspace's and those shared with this agent";
  static override description =
    "Reads from the hub every service of this agent's workspace (with the agent exposing it and its open connections) and every service a share this agent joined grants it (with the workspace sharing it, to pass to connect reach --from), each online or offline: a service is online while the agent exposing it is connected to the hub. Works whether or not the agent is running (it uses the saved identity).";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> services",
    "<%= config.bin %> services --json",
    "<%= config.bin %> services --config ~/.private-connect-laptop",
  ];

  async run(): Promise<ServiceListEntry[]> {
    const { services, ownId } = await this.callHubAsAgent(async (client, identity) => ({
      services: await listReachableServices(client, identity.hubUrl),
      ownId: identity.agentId,
    }));
    if (!this.jsonEnabled()) this.log(formatServices(services, ownId));
    return services;
  }
}

/** The table of `connect services`; `ownId` marks the services this machine's agent exposes. */
export function formatServices(services: readonly ServiceListEntry[], ownId?: string): string {
  if (services.length === 0) {
    return "No services to reach yet: expose one with connect expose HOST:PORT --name NAME, or join a share with connect join CODE";
  }
  return formatTable(
    ["Service", "From", "Status", "Agent", "Connections"],
    services.map((service) => [
      service.name,
      service.from === null ? "this workspace" : `${service.from} (share ${service.shareName ?? "-"})`,
      service.online ? "online" : "offline",
      service.agentLabel === null ? "-" : service.agentId === ownId ? `${service.agentLabel} (this machine)` : service.agentLabel,
      service.openConnections === null ? "-" : String(service.openConnections),
    ]),
  );
}
