/** The Noise Protocol Framework core for end-to-end encryption between agents (issue 19). */
export { aesGcm, type CipherFunction, type CipherName, chaChaPoly } from "./cipher-functions.js";
export { CipherState, type SealedRecord } from "./cipher-state.js";
export { DH_LENGTH, dh, generateKeyPair, keyPairOf, publicKeyOf, type RawKeyPair } from "./dh25519.js";
export { EphemeralKeyPool, type EphemeralKeySource } from "./ephemeral-keys.js";
export { HANDSHAKE_PATTERNS, type HandshakePattern, type MessageToken } from "./handshake-patterns.js";
export { type HandshakeOptions, HandshakeState, type TransportCiphers } from "./handshake-state.js";
export { blake2b, type HashFunction, type HashName, sha256 } from "./hash-functions.js";
export { AEAD_TAG_LENGTH, MAX_NOISE_MESSAGE_LENGTH, MAX_TRANSPORT_PLAINTEXT_LENGTH } from "./limits.js";
export { isNoiseError, NOISE_ERROR_CODES, NoiseError, type NoiseErrorCode } from "./noise-error.js";
export { type NoiseProtocol, parseProtocolName } from "./protocol-name.js";
