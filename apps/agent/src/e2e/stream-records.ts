import { MAX_FRAME_PAYLOAD } from "@private-connect/protocol";
import type { RecordOpener, RecordSealer, SealedParts, StreamCiphers } from "../tunnel/stream-cipher.js";
import { type CipherState, MAX_TRANSPORT_PLAINTEXT_LENGTH } from "./noise/index.js";

/** The AEAD tag every record carries. */
export const RECORD_TAG_BYTES = 16;

/**
 * Records per key before both ends move to the next one (Noise's Rekey). Each record is one
 * DATA frame of at most 64 KiB, so a key protects at most 64 GiB: far inside AES-GCM's limits,
 * and the 64-bit nonce counter never comes near wrapping.
 */
export const RECORDS_PER_KEY = 2 ** 20;

/**
 * One direction of an end-to-end stream. The counter nonce lives inside the CipherState and
 * only moves forward, so no two records are ever sealed under the same key and nonce; both ends
 * count records, so they rekey at the same record without saying so on the wire.
 */
class RecordDirection {
  private recordsUnderKey = 0;

  constructor(
    private readonly cipher: CipherState,
    private readonly recordsPerKey: number,
  ) {}

  /** Call before each record: moves to the next key every `recordsPerKey` records. */
  protected beforeRecord(): void {
    if (this.recordsUnderKey === this.recordsPerKey) {
      this.cipher.rekey();
      this.recordsUnderKey = 0;
    }
    this.recordsUnderKey++;
  }

  protected get state(): CipherState {
    return this.cipher;
  }
}

class Sealer extends RecordDirection implements RecordSealer {
  readonly overhead = RECORD_TAG_BYTES;
  // A DATA frame could hold 64 KiB of record, one byte more than Noise allows a message.
  readonly maxPlaintext = Math.min(MAX_TRANSPORT_PLAINTEXT_LENGTH, MAX_FRAME_PAYLOAD - RECORD_TAG_BYTES);

  seal(plaintext: Uint8Array, continuation?: Uint8Array): SealedParts {
    this.beforeRecord();
    const { ciphertext, continuedCiphertext, tag } = this.state.seal(plaintext, continuation);
    return continuedCiphertext === undefined
      ? { body: ciphertext, tag }
      : { body: ciphertext, continued: continuedCiphertext, tag };
  }
}

class Opener extends RecordDirection implements RecordOpener {
  open(record: Buffer): Buffer {
    if (record.length < RECORD_TAG_BYTES) throw new Error("record shorter than its tag");
    this.beforeRecord();
    const split = record.length - RECORD_TAG_BYTES;
    return this.state.open(record.subarray(0, split), record.subarray(split));
  }
}

/**
 * The two directions of a stream, from the two CipherStates a completed handshake split into.
 * `recordsPerKey` is for tests, which cannot send a million records to see a rekey.
 */
export function createStreamCiphers(
  split: { send: CipherState; receive: CipherState },
  recordsPerKey = RECORDS_PER_KEY,
): StreamCiphers {
  return { send: new Sealer(split.send, recordsPerKey), receive: new Opener(split.receive, recordsPerKey) };
}
