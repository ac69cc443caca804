import { callHub, type HubClient } from "../sdk/hub-client.js";
import type { ServiceLookup } from "./control-protocol.js";

/**
 * The service a reach of `service` (with `from`, as reach takes it) goes to, as services.list and
 * services.shared describe it to this agent: the workspace's own service wins over a shared one of
 * the same name, as at a stream open. Null when the hub lists no such service for this agent.
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
  const ownService = own.find((service) => service.name === request.service);
  if (ownService !== undefined) {
    return {
      name: ownService.name,
      isOnline: ownService.online,
      agentLabel: ownService.agentLabel,
      targetPort: ownService.targetPort,
    };
  }
  const sharedService = shared.find(
    (service) =>
      service.name === request.service &&
      (request.from === undefined || service.from === request.from || service.shareName === request.from),
  );
  if (sharedService === undefined) return null;
  return { name: sharedService.name, from: sharedService.from, isOnline: sharedService.online };
}
