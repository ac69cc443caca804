import { encodeE2ePublicKey } from "@private-connect/protocol";
import { callHub, type HubClient } from "../sdk/hub-client.js";
import type { PeerKeyChange } from "./pin-cache.js";
import type { CertificateRefusal } from "./workspace-trust.js";

export type ReportPeerKeyInput = Parameters<HubClient["agents"]["reportPeerKey"]["mutate"]>[0];

/**
 * Tells the hub's audit log what happened to a pin: a changed key refused (`changed`), a new key
 * accepted by a person (`trusted`), a safety number compared (`verified`), a key refused for want
 * of a workspace certificate (`uncertified`). The hub records it; it
 * decides nothing, the pins stay on the agent.
 */
export async function reportPeerKeyEvent(hub: HubClient, hubUrl: string, input: ReportPeerKeyInput): Promise<void> {
  await callHub(hubUrl, () => hub.agents.reportPeerKey.mutate(input));
}

export function reportPeerKeyChange(hub: HubClient, hubUrl: string, change: PeerKeyChange): Promise<void> {
  return reportPeerKeyEvent(hub, hubUrl, {
    event: "changed",
    peerAgentId: change.peer.agentId,
    ...(change.service === undefined || change.service === "" ? {} : { service: change.service }),
    pinnedKey: change.pinnedKey,
    offeredKey: change.offeredKey,
  });
}

export function reportUncertifiedPeer(hub: HubClient, hubUrl: string, refusal: CertificateRefusal): Promise<void> {
  return reportPeerKeyEvent(hub, hubUrl, {
    event: "uncertified",
    peerAgentId: refusal.peer.agentId,
    ...(refusal.service === "" ? {} : { service: refusal.service }),
    offeredKey: encodeE2ePublicKey(refusal.peerKey),
  });
}
