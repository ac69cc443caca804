import type { RelayStream, StreamPeer } from "./relay-stream.js";

/** Stream ids are u31 on the wire; a connection's allocator wraps before the top. */
const MAX_STREAM_ID = 0x7fff_ffff;

export interface StreamSlot {
  stream: RelayStream;
  side: "client" | "server";
}

/**
 * The streams one relay connection (an agent's or a peer hub's) takes part in, by the stream id
 * used on that connection, and the ids the hub hands out on it: even ones to agents (agents open
 * odd ones), odd ones on a connection this hub dialed to another hub.
 */
export class StreamSlots {
  private readonly slots = new Map<number, StreamSlot>();
  private nextId: number;

  constructor(private readonly firstId: 1 | 2) {
    this.nextId = firstId;
  }

  get size(): number {
    return this.slots.size;
  }

  get(streamId: number): StreamSlot | undefined {
    return this.slots.get(streamId);
  }

  has(streamId: number): boolean {
    return this.slots.has(streamId);
  }

  attach(streamId: number, stream: RelayStream, side: "client" | "server"): void {
    this.slots.set(streamId, { stream, side });
  }

  detach(streamId: number): void {
    this.slots.delete(streamId);
  }

  /** A fresh id of this connection's parity, skipping ids still in use. */
  allocate(): number {
    const after = (id: number) => (id + 2 > MAX_STREAM_ID ? this.firstId : id + 2);
    let id = this.nextId;
    while (this.slots.has(id)) id = after(id);
    this.nextId = after(id);
    return id;
  }

  /** Resets every stream at its other end(s) with `code` and the reason for its side, and forgets them. */
  resetAll(code: number, reasonFor: (side: "client" | "server") => string, except?: StreamPeer): void {
    for (const slot of [...this.slots.values()]) slot.stream.reset(code, reasonFor(slot.side), except);
    this.slots.clear();
  }
}
