import { type OpenRequest, ResetCode } from "@private-connect/protocol";
import type { E2ePolicy } from "../config/state.js";
import type { OpenAdmission } from "../tunnel/tunnel-client.js";
import type { PeerKeyBook } from "./peer-key-book.js";
import { answerStreamHandshake, type StaticKeyPair } from "./stream-handshake.js";
import type { WorkspaceTrust } from "./workspace-trust.js";

const REQUIRED_MESSAGE = "This service requires end-to-end encryption: update the agent";

/** What the exposing agent learns of a stream it admitted, for `connect status`. */
export interface AdmittedStream {
  service: string;
  isEndToEnd: boolean;
  peer?: { agentId: string; label: string; isVerified: boolean; isCertified?: boolean } | undefined;
}

/**
 * The exposing agent's decision on an OPEN, taken before it dials anything. Its own policy for the
 * service is the one that counts (the hub's check is a courtesy): under "required" plaintext is
 * refused; a reaching agent whose key is pinned is never served in plaintext (unless the service
 * is "off"), one presenting another key than its pin is refused until a person trusts it, and
 * with a workspace certificate installed, one its workspace key does not vouch for is refused.
 */
export function admitOpen(options: {
  request: OpenRequest;
  policy: E2ePolicy;
  self: { agentId: string; workspaceId: string };
  staticKey: StaticKeyPair;
  pins: PeerKeyBook;
  trust: WorkspaceTrust;
  onAdmitted?(stream: AdmittedStream): void;
}): OpenAdmission {
  const { request, policy, self, pins, trust } = options;
  const { peer, service } = request;
  if (request.e2e !== undefined) {
    if (peer === undefined) {
      return refuse(ResetCode.E2E_FAILED, "End-to-end handshake refused: the hub did not say which agent it came from");
    }
    let answered: ReturnType<typeof answerStreamHandshake>;
    try {
      answered = answerStreamHandshake({
        local: options.staticKey,
        firstMessage: Buffer.from(request.e2e.handshake, "base64url"),
        parties: { reacher: peer, exposer: self, service },
        presented: trust.presented(),
      });
    } catch {
      return refuse(
        ResetCode.E2E_FAILED,
        `End-to-end handshake for ${service} failed at the exposing agent: it was made for another key, or altered on the way`,
      );
    }
    const checked = pins.check(peer, answered.peerPublicKey, { service });
    if (checked.kind === "changed") {
      return refuse(
        ResetCode.E2E_FAILED,
        `The exposing agent refused the stream: the end-to-end key of agent ${peer.label} (${peer.agentId}) is not the one it pinned. If that agent's key was replaced, run connect trust ${peer.agentId} on the exposing machine`,
      );
    }
    const isVerified = checked.kind === "match" && checked.isVerified;
    const certified = trust.check(peer, answered.peerPublicKey, answered.peerPresented, { service, isPinVerified: isVerified });
    if (certified.kind === "refused") {
      return refuse(ResetCode.E2E_FAILED, `The exposing agent refused the stream: ${certified.reason}`);
    }
    options.onAdmitted?.({
      service,
      isEndToEnd: true,
      peer: { agentId: peer.agentId, label: peer.label, isVerified, isCertified: certified.kind === "certified" },
    });
    return { kind: "e2e", answer: answered.answer, ciphers: answered.ciphers };
  }
  if (policy === "required") return refuse(ResetCode.E2E_REQUIRED, REQUIRED_MESSAGE);
  // With a workspace certificate, plaintext is served only where this agent itself said --e2e off.
  if (policy !== "off" && trust.isEnforcing()) {
    return refuse(
      ResetCode.E2E_REQUIRED,
      "The exposing agent has a workspace certificate and serves this service only end to end: update the reaching agent (a hub stripping encryption looks like this too)",
    );
  }
  if (policy !== "off" && peer !== undefined && pins.hasPin(peer.agentId)) {
    return refuse(
      ResetCode.E2E_REQUIRED,
      `The exposing agent refused a plaintext stream from agent ${peer.label}, which encrypted its streams before (a hub stripping encryption looks like this): update that agent`,
    );
  }
  options.onAdmitted?.({
    service,
    isEndToEnd: false,
    peer: peer === undefined ? undefined : { agentId: peer.agentId, label: peer.label, isVerified: false },
  });
  return { kind: "plaintext" };
}

function refuse(code: number, reason: string): OpenAdmission {
  return { kind: "refuse", code, reason };
}
