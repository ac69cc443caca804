import { timingSafeEqual } from "node:crypto";
import type { PeerIdentity, PeerKeyBook, PeerKeyCheck } from "../e2e/peer-key-book.js";

/** Pins in memory, for tests of the decisions that use them. */
export class MemoryKeyBook implements PeerKeyBook {
  readonly pins = new Map<string, { key: Buffer; isVerified: boolean }>();
  readonly changes: { agentId: string; offeredKey: Buffer }[] = [];

  check(peer: PeerIdentity, offeredKey: Buffer): PeerKeyCheck {
    const pin = this.pins.get(peer.agentId);
    if (pin === undefined) {
      this.pins.set(peer.agentId, { key: Buffer.from(offeredKey), isVerified: false });
      return { kind: "pinned-now" };
    }
    if (pin.key.length === offeredKey.length && timingSafeEqual(pin.key, offeredKey)) {
      return { kind: "match", isVerified: pin.isVerified };
    }
    this.changes.push({ agentId: peer.agentId, offeredKey });
    return { kind: "changed", pinnedKey: pin.key };
  }

  hasPin(agentId: string): boolean {
    return this.pins.has(agentId);
  }
}
