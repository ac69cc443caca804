import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodeE2ePublicKey, encodeE2ePublicKey } from "@private-connect/protocol";
import { FileChangeWatch } from "../config/file-version.js";
import { type KnownAgents, parseKnownAgents, readKnownAgents, updateKnownAgents } from "./known-agents.js";
import type { PeerIdentity, PeerKeyBook, PeerKeyCheck } from "./peer-key-book.js";

/** A key other than the pinned one, offered for a peer: what the audit log and the agent's log hear of. */
export interface PeerKeyChange {
  peer: PeerIdentity;
  service: string | undefined;
  pinnedKey: string;
  offeredKey: string;
}

export interface PinCacheOptions {
  onChanged?(change: PeerKeyChange): void;
  /** Writing the pins file failed (the pin holds in memory until the agent stops), or reading another process's change did. */
  onFileError?(error: unknown): void;
  now?(): Date;
}

/**
 * The running agent's pins: answered from memory, because a stream open must not wait for the
 * disk, and written through to known-agents.json in the background. A `connect trust` or
 * `connect verify` in another process changes the file; the next check sees its modification
 * time changed and reads it again.
 */
export class PinCache implements PeerKeyBook {
  #known: KnownAgents;
  readonly #watch: FileChangeWatch;
  #writes: Promise<void> = Promise.resolve();
  /** Pins made here whose write has not finished: the only ones a re-read of the file must keep. */
  readonly #unwritten = new Set<string>();

  private constructor(
    private readonly path: string,
    known: KnownAgents,
    private readonly options: PinCacheOptions,
  ) {
    this.#known = known;
    this.#watch = new FileChangeWatch(path);
  }

  static async open(path: string, options: PinCacheOptions = {}): Promise<PinCache> {
    // A malformed file stops the start with its path in the message: never start over silently.
    return new PinCache(path, await readKnownAgents(path), options);
  }

  check(peer: PeerIdentity, offeredKey: Buffer, context: { service: string }): PeerKeyCheck {
    this.#refresh();
    const pin = this.#known.agents[peer.agentId];
    const offeredText = encodeE2ePublicKey(offeredKey);
    const now = (this.options.now?.() ?? new Date()).toISOString();
    if (pin === undefined) {
      const entry = { publicKey: offeredText, label: peer.label, workspaceId: peer.workspaceId, firstSeenAt: now };
      this.#known.agents[peer.agentId] = entry;
      this.#unwritten.add(peer.agentId);
      this.#write((known) => {
        known.agents[peer.agentId] ??= entry;
      }).finally(() => this.#unwritten.delete(peer.agentId));
      return { kind: "pinned-now" };
    }
    const pinnedKey = decodeE2ePublicKey(pin.publicKey);
    if (pinnedKey !== undefined && timingSafeEqual(pinnedKey, offeredKey)) {
      return { kind: "match", isVerified: pin.verifiedAt !== undefined };
    }
    // The same offered key again (each retry of a refused stream offers it): refused just the
    // same, but already recorded and reported, so the audit log hears of it once.
    if (pin.changedKey?.publicKey === offeredText) return { kind: "changed", pinnedKey: pinnedKey ?? Buffer.alloc(0) };
    const changedKey = { publicKey: offeredText, seenAt: now, service: context.service };
    pin.changedKey = changedKey;
    this.#write((known) => {
      const stored = known.agents[peer.agentId];
      if (stored !== undefined && stored.publicKey === pin.publicKey) stored.changedKey = changedKey;
    });
    this.options.onChanged?.({ peer, service: context.service, pinnedKey: pin.publicKey, offeredKey: offeredText });
    return { kind: "changed", pinnedKey: pinnedKey ?? Buffer.alloc(0) };
  }

  hasPin(agentId: string): boolean {
    this.#refresh();
    return this.#known.agents[agentId] !== undefined;
  }

  /** Resolves once every change so far is on disk (tests, and a clean stop). */
  flush(): Promise<void> {
    return this.#writes;
  }

  #write(change: (known: KnownAgents) => void): Promise<void> {
    this.#writes = this.#writes
      .then(() => updateKnownAgents(this.path, change))
      .then(() => this.#watch.markSeen())
      .catch((error: unknown) => this.options.onFileError?.(error));
    return this.#writes;
  }

  /** Picks up a change another process (connect trust, connect verify) made to the file. */
  #refresh(): void {
    if (!this.#watch.hasChanged()) return;
    try {
      const fromDisk = parseKnownAgents(readFileSync(this.path, "utf8"));
      // Pins made here and not yet written stay: the write in flight adds them to the file. Any
      // other pin missing from the file was removed on purpose, and stays removed.
      for (const agentId of this.#unwritten) {
        const agent = this.#known.agents[agentId];
        if (agent !== undefined) fromDisk.agents[agentId] ??= agent;
      }
      this.#known = fromDisk;
    } catch (error) {
      // Half-edited by hand: keep what is in memory, say so once, and look again when it changes.
      this.options.onFileError?.(error);
    }
  }
}
