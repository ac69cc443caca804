/**
 * Every failure of the Noise core is a NoiseError with a code a caller can branch on. A peer's
 * bad message, a tampered record and a replay all surface the same way, so the caller closes the
 * stream instead of guessing what went wrong.
 */
export const NOISE_ERROR_CODES = [
  /** The protocol name names a pattern, DH, cipher or hash this core does not implement. */
  "UNSUPPORTED_PROTOCOL",
  /** A key has the wrong length, a needed key is missing, or a DH produced no shared secret. */
  "INVALID_KEY",
  /** A handshake message or transport record is larger than the 65535 bytes Noise allows. */
  "MESSAGE_TOO_LARGE",
  /** A message is shorter or longer than its pattern says it must be. */
  "MALFORMED_MESSAGE",
  /** Authentication failed: the bytes were altered, replayed, reordered or made with other keys. */
  "DECRYPTION_FAILED",
  /** The 2^64-1 nonces of a key are used up: the session must end (or have rekeyed long before). */
  "NONCE_EXHAUSTED",
  /** Called out of turn: writing when it is the peer's turn, or using a finished or failed handshake. */
  "WRONG_STATE",
] as const;

export type NoiseErrorCode = (typeof NOISE_ERROR_CODES)[number];

export class NoiseError extends Error {
  readonly code: NoiseErrorCode;

  constructor(code: NoiseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NoiseError";
    this.code = code;
  }
}

export function isNoiseError(error: unknown, code?: NoiseErrorCode): error is NoiseError {
  return error instanceof NoiseError && (code === undefined || error.code === code);
}
