// The services an agent can reach, from a program or the CLI (`connect services`): its own
// workspace's and those of other workspaces shared with it, and whether each is online now.
import { callHub, type HubClient } from "./hub-client.js";

export interface ServiceListEntry {
  name: string;
  /** null for the workspace's own service; for a shared one the sharing workspace's slug, as reach --from takes it. */
  from: string | null;
  /** The share that grants a shared service; null for the workspace's own. */
  shareName: string | null;
  /** Whether the agent exposing it holds a relay connection now: a reach of an offline service connects nowhere. */
  online: boolean;
  /** The exposing agent; null for a shared service, whose workspace's agents the hub does not show. */
  agentId: string | null;
  agentLabel: string | null;
  /** Connections open through the hub now; null for a shared service, whose traffic the hub does not show. */
  openConnections: number | null;
}

/**
 * The workspace's services (with their exposing agent and open connections) followed by the
 * services shares this agent joined grant it. `client` must carry an agent token: joins belong
 * to an agent.
 */
export async function listReachableServices(client: HubClient, hubUrl: string): Promise<ServiceListEntry[]> {
  const [own, traffic, shared] = await Promise.all([
    callHub(hubUrl, () => client.services.list.query()),
    callHub(hubUrl, () => client.services.traffic.query()),
    callHub(hubUrl, () => client.services.shared.query()),
  ]);
  const openByName = new Map(traffic.map((service) => [service.name, service.openConnections]));
  return [
    ...own.map(
      (service): ServiceListEntry => ({
        name: service.name,
        from: null,
        shareName: null,
        online: service.online,
        agentId: service.agentId,
        agentLabel: service.agentLabel,
        openConnections: openByName.get(service.name) ?? 0,
      }),
    ),
    ...shared.map(
      (service): ServiceListEntry => ({
        name: service.name,
        from: service.from,
        shareName: service.shareName,
        online: service.online,
        agentId: null,
        agentLabel: null,
        openConnections: null,
      }),
    ),
  ];
}

/**
 * The entry a reach of `service` (with `from`, as reach takes it) goes to, as the hub decides:
 * without `from` the workspace's own service wins over a shared one of the same name. `from` may
 * name the sharing workspace or the share. Undefined when the list has no such service.
 */
export function findReachableService<T extends Pick<ServiceListEntry, "name" | "from" | "shareName">>(
  services: readonly T[],
  service: string,
  from?: string,
): T | undefined {
  const named = services.filter((entry) => entry.name === service);
  if (from !== undefined) return named.find((entry) => entry.from === from || entry.shareName === from);
  return named.find((entry) => entry.from === null) ?? named[0];
}
