// The workspace's agents from a program or the CLI: who or what let each one in, when it was last
// seen and from where, and revocation. A revoked agent's relay connection is closed by the hub at
// once and its token never works again; only a new registration brings that machine back.
import { ConnectError, isConnectError } from "../errors.js";
import { callHub, type HubClient } from "./hub-client.js";

/** One agent as `agents.list` shows it (revoked ones are left out); addresses are masked. */
export type AgentListEntry = Awaited<ReturnType<HubClient["agents"]["list"]["query"]>>[number];
export type AgentCreator = AgentListEntry["createdBy"];
/** What `agents.revoke` answers: the agent and when it was revoked (the first time, if twice). */
export type RevokedAgent = Awaited<ReturnType<HubClient["agents"]["revoke"]["mutate"]>>;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The workspace's agents that are not revoked, online ones first. */
export function listAgents(client: HubClient, hubUrl: string): Promise<AgentListEntry[]> {
  return callHub(hubUrl, () => client.agents.list.query());
}

/**
 * The one agent `labelOrId` names: an id as `connect agents list` prints it, or a label. Labels
 * are not unique (registering a machine again keeps its label), so a label two agents share is
 * refused with their ids rather than guessed.
 */
export function findAgent(agents: readonly AgentListEntry[], labelOrId: string): AgentListEntry {
  const wanted = labelOrId.trim();
  if (wanted === "") throw new ConnectError("INVALID_INPUT", "Name the agent to revoke by its label or id (connect agents list)");
  const byId = agents.find((agent) => agent.agentId.toLowerCase() === wanted.toLowerCase());
  if (byId !== undefined) return byId;
  const byLabel = agents.filter((agent) => agent.label === wanted);
  const [only] = byLabel;
  if (only !== undefined && byLabel.length === 1) return only;
  if (byLabel.length > 1) {
    throw new ConnectError(
      "INVALID_INPUT",
      `${byLabel.length} agents are labelled "${wanted}": pass the id of the one to revoke (${byLabel.map((agent) => agent.agentId).join(", ")}; connect agents list shows which is which)`,
    );
  }
  throw new ConnectError(
    "AGENT_NOT_FOUND",
    `No agent labelled "${wanted}" in this workspace: connect agents list shows its agents (revoked ones are gone from it)`,
  );
}

/**
 * Revokes the agent `labelOrId` names. A label is looked up in `agents.list` first; an id goes to
 * the hub as it is, so an agent the caller cannot list is still refused by the hub, not here.
 */
export async function revokeAgent(client: HubClient, hubUrl: string, labelOrId: string): Promise<RevokedAgent> {
  const trimmed = labelOrId.trim();
  const agentId = UUID_PATTERN.test(trimmed) ? trimmed : findAgent(await listAgents(client, hubUrl), trimmed).agentId;
  try {
    return await callHub(hubUrl, () => client.agents.revoke.mutate({ agentId }));
  } catch (error) {
    // The hub says "Agent not found" for unknown ids and for other workspaces' agents alike.
    if (isConnectError(error, "SERVICE_NOT_FOUND")) {
      throw new ConnectError("AGENT_NOT_FOUND", `${error.message}: connect agents list shows this workspace's agents`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** "key ci", "owner@acme.test", "provisioning key runners": who or what let the agent in. */
export function describeCreator(creator: AgentCreator): string {
  const name = creator.name ?? (creator.id === null ? undefined : `${creator.id.slice(0, 8)}… (gone)`);
  switch (creator.type) {
    case "api_key":
      return `key ${name ?? "unknown"}`;
    case "provisioning_key":
      return `provisioning key ${name ?? "unknown"}`;
    case "user":
      return name ?? "a user";
    default:
      return "unknown (before provenance was recorded)";
  }
}
