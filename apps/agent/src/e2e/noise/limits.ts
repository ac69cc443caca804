/** Noise caps every message, handshake or transport, at 65535 bytes (spec section 3). */
export const MAX_NOISE_MESSAGE_LENGTH = 65_535;

/** Both supported AEADs append a 16-byte tag. */
export const AEAD_TAG_LENGTH = 16;

/** The largest plaintext one transport message can carry: 65535 minus the tag. */
export const MAX_TRANSPORT_PLAINTEXT_LENGTH = MAX_NOISE_MESSAGE_LENGTH - AEAD_TAG_LENGTH;

/** Cipher keys are 32 bytes for both ChaChaPoly and AESGCM. */
export const CIPHER_KEY_LENGTH = 32;
