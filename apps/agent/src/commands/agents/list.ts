import { BaseCommand } from "../../cli/base-command.js";
import { formatTable } from "../../cli/format-table.js";
import { type AgentListEntry, describeCreator, listAgents } from "../../sdk/agents.js";

export default class AgentsList extends BaseCommand<typeof AgentsList> {
  static override summary = "list your workspace's agents: who or what let each in, when and where it was last seen";
  static override description =
    "Reads the agents of this agent's workspace from the hub (revoked ones are gone from the list): online or not, what created each one (an API key, the person who approved its connect login, or a provisioning key), when it was last seen and from which address (masked), and when its token expires. Works whether or not the agent is running (it uses the saved identity). Revoke one with connect agents revoke.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> agents list",
    "<%= config.bin %> agents list --json",
    "<%= config.bin %> agents list --config ~/.private-connect-laptop",
  ];

  async run(): Promise<AgentListEntry[]> {
    const { agents, ownId } = await this.callHubAsAgent(async (client, identity) => ({
      agents: await listAgents(client, identity.hubUrl),
      ownId: identity.agentId,
    }));
    if (!this.jsonEnabled()) this.log(formatAgents(agents, ownId));
    return agents;
  }
}

/** The table of `connect agents list`; `ownId` marks this machine's agent. */
export function formatAgents(agents: readonly AgentListEntry[], ownId?: string): string {
  if (agents.length === 0) return "No agents in this workspace: start one with connect up --hub URL --api-key KEY";
  return formatTable(
    ["Label", "Status", "Created by", "Last seen", "Address", "Token expires", "Id"],
    agents.map((agent) => [
      agent.agentId === ownId ? `${agent.label} (this machine)` : agent.label,
      agent.online ? "online" : "offline",
      describeCreator(agent.createdBy),
      agent.online ? "now" : agent.lastSeenAt === null ? "never" : trimMilliseconds(agent.lastSeenAt),
      agent.lastIp ?? "-",
      trimMilliseconds(agent.tokenExpiresAt),
      agent.agentId,
    ]),
  );
}

function trimMilliseconds(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, "Z");
}
