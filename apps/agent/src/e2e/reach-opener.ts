import type { Socket } from "node:net";
import { ResetCode } from "@private-connect/protocol";
import { HandshakeRefused } from "../tunnel/stream-cipher.js";
import type { InitiatorHandshake, WelcomeInfo } from "../tunnel/tunnel-client.js";
import type { PeerKeyBook } from "./peer-key-book.js";
import { decideReach, type ResolvedPeer } from "./reach-decision.js";
import { beginStreamHandshake, type StaticKeyPair } from "./stream-handshake.js";
import type { WorkspaceTrust } from "./workspace-trust.js";

export interface ReachRequest {
  service: string;
  from?: string;
}

/** How the last stream of a reach went, for `connect status`. */
export interface ReachSecurity {
  isEndToEnd: boolean;
  peer?: { agentId: string; label: string; isVerified: boolean; isCertified?: boolean } | undefined;
  /** Why the last stream was refused before it was sent, when it was. */
  refusal?: string | undefined;
}

/** What an agent brings to end-to-end streams: its key, its pins, and its workspace certificate (if any). */
export interface AgentE2e {
  staticKey: StaticKeyPair;
  pins: PeerKeyBook;
  trust: WorkspaceTrust;
}

export interface ReachOpenerDeps {
  /** Undefined: every stream is plaintext. */
  e2e: AgentE2e | undefined;
  welcome(): WelcomeInfo | undefined;
  /** The hub's services.resolve for the request: who exposes it, its policy and key. */
  resolve(request: ReachRequest): Promise<ResolvedPeer>;
  openStream(socket: Socket, request: ReachRequest, handshake?: InitiatorHandshake): void;
  /** A stream refused here, before anything was sent (a changed key, a policy). */
  onRefused(request: ReachRequest, refusal: { code: number; reason: string }): void;
}

function keyOf(request: ReachRequest): string {
  return request.from === undefined ? request.service : `${request.from}/${request.service}`;
}

/**
 * Opens the streams of an agent's reaches, end to end where the exposing agent can. Who exposes
 * each service is asked of the hub once and kept, so a stream open costs no extra round trip;
 * it is asked again after a stream is refused before opening (the service may have moved to
 * another agent, or that agent's key changed).
 */
export class ReachOpener {
  private readonly peers = new Map<string, ResolvedPeer>();
  private readonly security = new Map<string, ReachSecurity>();

  constructor(private readonly deps: ReachOpenerDeps) {}

  /** What reach() learned when it checked the service: saves the first stream a round trip. */
  remember(request: ReachRequest, peer: ResolvedPeer): void {
    this.peers.set(keyOf(request), peer);
  }

  /** The next open asks the hub again. */
  forget(request: ReachRequest): void {
    this.peers.delete(keyOf(request));
  }

  securityOf(request: ReachRequest): ReachSecurity | undefined {
    return this.security.get(keyOf(request));
  }

  open(socket: Socket, request: ReachRequest): void {
    const { e2e } = this.deps;
    if (e2e === undefined) {
      this.deps.openStream(socket, request);
      return;
    }
    const known = this.peers.get(keyOf(request));
    if (known !== undefined) {
      this.openTo(socket, request, known, e2e);
      return;
    }
    // Until the socket has a reader its bytes wait in the kernel, so nothing is lost meanwhile.
    this.deps.resolve(request).then(
      (peer) => {
        this.peers.set(keyOf(request), peer);
        if (!socket.destroyed) this.openTo(socket, request, peer, e2e);
      },
      (error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        this.refuse(socket, request, { code: ResetCode.SERVICE_NOT_FOUND, reason });
      },
    );
  }

  private openTo(socket: Socket, request: ReachRequest, peer: ResolvedPeer, e2e: AgentE2e): void {
    const welcome = this.deps.welcome();
    if (welcome === undefined) {
      // Not connected: the tunnel resets the socket and says so.
      this.deps.openStream(socket, request);
      return;
    }
    const decision = decideReach({
      service: request.service,
      peer,
      hubRelaysEndToEnd: welcome.relaysEndToEnd,
      pins: e2e.pins,
      isCertified: e2e.trust.isEnforcing(),
    });
    const key = keyOf(request);
    switch (decision.kind) {
      case "refuse":
        // The key or the agent may have changed since it was asked: ask again next time.
        this.peers.delete(key);
        this.refuse(socket, request, decision);
        return;
      case "plaintext":
        this.security.set(key, { isEndToEnd: false, peer: { agentId: peer.agentId, label: peer.label, isVerified: false } });
        this.deps.openStream(socket, request);
        return;
      case "e2e": {
        const security: ReachSecurity = {
          isEndToEnd: true,
          peer: { agentId: peer.agentId, label: peer.label, isVerified: decision.isVerified },
        };
        const handshake = beginStreamHandshake({
          local: e2e.staticKey,
          peerPublicKey: decision.peerPublicKey,
          parties: {
            reacher: { agentId: welcome.agentId, workspaceId: welcome.workspaceId },
            exposer: { agentId: peer.agentId, workspaceId: peer.workspaceId },
            service: request.service,
          },
          presented: e2e.trust.presented(),
          // Before any byte of the client's is sealed: a peer the workspace key does not vouch for gets none.
          acceptPeer: (peerPresented) => {
            const checked = e2e.trust.check(peer, decision.peerPublicKey, peerPresented, {
              service: request.service,
              isPinVerified: decision.isVerified,
            });
            if (checked.kind === "refused") {
              this.peers.delete(key);
              this.security.set(key, { isEndToEnd: false, refusal: checked.reason });
              throw new HandshakeRefused(`Refused to reach ${request.service}: ${checked.reason}`);
            }
            if (security.peer !== undefined) security.peer.isCertified = checked.kind === "certified";
          },
        });
        this.security.set(key, security);
        this.deps.openStream(socket, request, handshake);
        return;
      }
    }
  }

  private refuse(socket: Socket, request: ReachRequest, refusal: { code: number; reason: string }): void {
    this.security.set(keyOf(request), { isEndToEnd: false, refusal: refusal.reason });
    this.deps.onRefused(request, refusal);
    socket.on("error", () => {});
    socket.resetAndDestroy();
  }
}
