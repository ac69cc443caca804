import type { ApiDeps, Principal } from "../../deps.js";
import type { ServiceConnectionView, ServiceTrafficView } from "../../schemas/services.js";

/** Connections listed per service: a page of names, not a dump of a busy service's 10,000 streams. */
export const SERVICE_CONNECTIONS_LISTED = 50;

/**
 * Open connections and bytes relayed for each service of the caller's workspace, as the relay
 * of the hub holding each service's agent sees them. Who reaches a service is named from the workspace's own records only: its
 * agents' labels, and for a share the label the joining agent gave (stored with the grant), so
 * nothing of the joining workspace is read.
 */
export async function getServiceTraffic(deps: ApiDeps, principal: Principal): Promise<ServiceTrafficView[]> {
  const { workspaceId } = principal;
  const found = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const services = await tx.service.findMany({
      where: { workspaceId },
      orderBy: { name: "asc" },
      select: { name: true, agentId: true },
    });
    const agents = await tx.agent.findMany({ where: { workspaceId }, select: { id: true, label: true } });
    const shares = await tx.share.findMany({
      where: { workspaceId },
      select: { id: true, name: true, grants: { select: { granteeAgentId: true, granteeLabel: true } } },
    });
    return { services, agents, shares };
  });
  const agentLabels = new Map(found.agents.map((agent) => [agent.id, agent.label]));
  const sharesById = new Map(found.shares.map((share) => [share.id, share]));
  const refs = found.services.map((service) => ({ agentId: service.agentId, serviceName: service.name }));
  const described = (await deps.presence.describeServiceTraffic?.(refs, SERVICE_CONNECTIONS_LISTED)) ?? [];
  return found.services.map((service, index) => {
    const traffic = described[index] ?? { bytesRelayed: 0, openStreams: 0, streams: [] };
    const connections = [...traffic.streams]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, SERVICE_CONNECTIONS_LISTED)
      .map((stream): ServiceConnectionView => {
        // Only an explicit true: a hub that does not say is relaying plaintext as far as anyone knows.
        const isEndToEnd = stream.isEndToEnd === true;
        if (stream.clientAgentId === undefined) {
          // A public link's request is read by the hub (it applies methods and paths): never end to end.
          return { via: "link", agentLabel: null, shareName: null, bytes: stream.bytes, isEndToEnd: false };
        }
        const share = stream.shareId === undefined ? undefined : sharesById.get(stream.shareId);
        if (share !== undefined) {
          const grant = share.grants.find((candidate) => candidate.granteeAgentId === stream.clientAgentId);
          return {
            via: "share",
            agentLabel: grant?.granteeLabel ?? null,
            shareName: share.name,
            bytes: stream.bytes,
            isEndToEnd,
          };
        }
        return {
          via: "agent",
          agentLabel: agentLabels.get(stream.clientAgentId) ?? null,
          shareName: null,
          bytes: stream.bytes,
          isEndToEnd,
        };
      });
    return {
      name: service.name,
      openConnections: traffic.openStreams,
      bytesRelayed: traffic.bytesRelayed,
      connections,
    };
  });
}
