import { ResetCode } from "@private-connect/protocol";
import type { E2ePolicy } from "../config/state.js";
import type { PeerKeyBook } from "./peer-key-book.js";
import { parsePublicKeyText } from "./static-key.js";

/** The exposing agent of a service, as the hub's services.resolve describes it. */
export interface ResolvedPeer {
  agentId: string;
  label: string;
  workspaceId: string;
  /** The service's effective policy. */
  policy: E2ePolicy;
  /** The exposing agent's registered static key (pcpk_...), or null for an agent too old to have one. */
  publicKey: string | null;
}

export type ReachDecision =
  | { kind: "plaintext" }
  | { kind: "e2e"; peerPublicKey: Buffer; isVerified: boolean }
  | { kind: "refuse"; code: number; reason: string };

/**
 * How the reaching agent opens a stream to `peer`. The hub's word (the key, the policy) is only
 * believed as far as the pins allow: a key other than the pinned one is refused, and a peer once
 * reached end to end is never reached in plaintext, whatever the hub now says of it. A refusal
 * happens before anything is sent.
 */
export function decideReach(options: {
  service: string;
  peer: ResolvedPeer;
  hubRelaysEndToEnd: boolean;
  pins: PeerKeyBook;
  /** This agent has a workspace certificate: it reaches nothing in plaintext, whatever the hub says. */
  isCertified?: boolean;
}): ReachDecision {
  const { service, peer, hubRelaysEndToEnd, pins } = options;
  const isCertified = options.isCertified === true;
  const name = `${peer.label} (${peer.agentId})`;
  // "off" is the hub's word too: a peer reached end to end before is reached end to end still.
  const isPinned = pins.hasPin(peer.agentId);
  if (peer.publicKey !== null && hubRelaysEndToEnd && (peer.policy !== "off" || isPinned || isCertified)) {
    let key: Buffer;
    try {
      key = parsePublicKeyText(peer.publicKey);
    } catch {
      return { kind: "refuse", code: ResetCode.E2E_FAILED, reason: `The hub sent a malformed end-to-end key for agent ${name}` };
    }
    const checked = pins.check(peer, key, { service });
    if (checked.kind === "changed") {
      return {
        kind: "refuse",
        code: ResetCode.E2E_FAILED,
        reason: `The end-to-end key of agent ${name}, which exposes ${service}, changed since this agent pinned it. If it was reinstalled or its key was replaced, run connect trust ${peer.agentId}; if not, someone may be intercepting: compare safety numbers with connect verify ${peer.agentId}`,
      };
    }
    return { kind: "e2e", peerPublicKey: key, isVerified: checked.kind === "match" && checked.isVerified };
  }
  if (isCertified) {
    const why = !hubRelaysEndToEnd
      ? "the hub does not relay end-to-end handshakes"
      : peer.publicKey === null
        ? `the hub names no end-to-end key for its agent ${name}`
        : `the hub says ${service} is --e2e off`;
    return {
      kind: "refuse",
      code: ResetCode.E2E_REQUIRED,
      reason: `This agent has a workspace certificate and reaches services only end to end, but ${why}: a hub may not decide that for it. Update that agent or hub, or remove this agent's certificate (connect workspace-key remove)`,
    };
  }
  if (peer.policy === "required") {
    const why = hubRelaysEndToEnd
      ? `its agent ${name} has no end-to-end key: update the agent there`
      : "the hub does not relay end-to-end handshakes: update the hub";
    return {
      kind: "refuse",
      code: ResetCode.E2E_REQUIRED,
      reason: `Service ${service} requires end-to-end encryption, but ${why}`,
    };
  }
  if (isPinned) {
    return {
      kind: "refuse",
      code: ResetCode.E2E_REQUIRED,
      reason: `Agent ${name} was reached end to end before; refusing to reach ${service} in plaintext now (a hub stripping encryption looks like this). If the agent there was downgraded, update it`,
    };
  }
  return { kind: "plaintext" };
}
