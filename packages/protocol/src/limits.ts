/** Protocol versions this build speaks, newest first. */
export const PROTOCOL_VERSIONS = [1] as const;
export const PROTOCOL_VERSION = 1;

/** Fixed header: type u8, flags u8, stream id u32, payload length u32 (big-endian). */
export const FRAME_HEADER_BYTES = 10;

/** Largest payload one frame may carry. Bigger frames close the connection. */
export const MAX_FRAME_PAYLOAD = 64 * 1024;

/** Control and OPEN payloads are small JSON documents; anything bigger is hostile. */
export const MAX_CONTROL_PAYLOAD = 16 * 1024;

/**
 * Credit each side of a stream starts with, per direction. It is also how much early data
 * a client may send before the far side has connected, and so the most the hub ever holds
 * for one stream. 256 KiB keeps a loopback bulk stream at full speed while bounding memory
 * at windows x streams.
 */
export const INITIAL_STREAM_WINDOW = 256 * 1024;

/** Largest RST reason in bytes (the rest is cut). */
export const MAX_RESET_REASON_BYTES = 512;

/** Largest WebSocket message either side accepts (a batch of frames). */
export const MAX_WS_MESSAGE_BYTES = 4 * (FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD);
