import { callHub, type HubClient } from "../sdk/hub-client.js";
import { findReachableService } from "../sdk/services.js";
import type { ServiceLookup } from "./control-protocol.js";

/**
 * The service a reach of `service` (with `from`, as reach takes it) goes to, as services.list and
 * services.shared describe it to this agent, matched as connect reach matches
 * (findReachableService). Unlike listReachableServices it asks nothing about traffic, and keeps
 * the own service's target port. Null when the hub lists no such service for this agent.
 */
export async function lookupService(
  hub: HubClient,
  hubUrl: string,
  request: { service: string; from?: string | undefined },
): Promise<ServiceLookup | null> {
  const [own, shared] = await Promise.all([
    request.from === undefined ? callHub(hubUrl, () => hub.services.list.query()) : Promise.resolve([]),
    callHub(hubUrl, () => hub.services.shared.query()),
  ]);
  const candidates: (Omit<ServiceLookup, "from"> & { from: string | null; shareName: string | null })[] = [
    ...own.map((service) => ({
      name: service.name,
      from: null,
      shareName: null,
      isOnline: service.online,
      agentLabel: service.agentLabel,
      targetPort: service.targetPort,
    })),
    ...shared.map((service) => ({
      name: service.name,
      from: service.from,
      shareName: service.shareName,
      isOnline: service.online,
    })),
  ];
  const found = findReachableService(candidates, request.service, request.from);
  if (found === undefined) return null;
  const { from, shareName: _shareName, ...lookup } = found;
  return from === null ? lookup : { ...lookup, from };
}
