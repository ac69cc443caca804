/**
 * What a stream bridge needs of end-to-end encryption: one sealing and one opening direction,
 * one record per DATA frame. The bridge does not know the handshake or the keys; apps/agent/src/e2e
 * makes these from a completed Noise handshake.
 */
export interface RecordSealer {
  /** Bytes a record adds to its plaintext (the AEAD tag). */
  readonly overhead: number;
  /** The most plaintext one record may carry (Noise caps a whole message at 65535 bytes). */
  readonly maxPlaintext: number;
  /**
   * Seals the next record, whose plaintext is `plaintext` then `continuation` (when given). The
   * parts are written back to back as one DATA payload, so they are never joined into another
   * buffer. An empty plaintext seals the end-of-data record.
   */
  seal(plaintext: Uint8Array, continuation?: Uint8Array): SealedParts;
}

/** A sealed record as the DATA payload carries it: body, then continued (if any), then tag. */
export interface SealedParts {
  body: Buffer;
  continued?: Buffer;
  tag: Buffer;
}

export interface RecordOpener {
  /** Opens the next record (a whole DATA payload): the plaintext, or throws if it was altered, replayed or reordered. */
  open(record: Buffer): Buffer;
}

export interface StreamCiphers {
  send: RecordSealer;
  receive: RecordOpener;
}

/**
 * Thrown by a handshake's finish when the peer answered correctly but is not acceptable (its
 * workspace certificate is missing or wrong): the message is for people and is shown as is.
 */
export class HandshakeRefused extends Error {
  override readonly name = "HandshakeRefused";
}
