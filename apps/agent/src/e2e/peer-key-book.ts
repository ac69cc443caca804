/**
 * What the stream opens ask of the agent's pins, answered from memory (an open must not wait
 * for the disk): whether a peer agent's key is the one pinned, and to pin or record one.
 * e2e/pin-cache.ts implements it over the pins file.
 */
export type PeerKeyCheck =
  /** No key pinned for this agent yet: this one is pinned now (trust on first use). */
  | { kind: "pinned-now" }
  | { kind: "match"; isVerified: boolean }
  /** A different key than the pinned one: recorded for `connect trust`, and refused. */
  | { kind: "changed"; pinnedKey: Buffer };

export interface PeerIdentity {
  agentId: string;
  label: string;
  workspaceId: string;
}

export interface PeerKeyBook {
  /** Checks `offeredKey` against the pin of `peer.agentId`, pinning it on first contact. */
  check(peer: PeerIdentity, offeredKey: Buffer, context: { service: string }): PeerKeyCheck;
  /** Whether this agent has ever pinned a key for that agent: such a peer is never reached in plaintext. */
  hasPin(agentId: string): boolean;
}
