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
 * a client may send before the far side has connected. A receiver grows a stream's window
 * from here when the window, not the reader, is what holds the sender back, but only while
 * the stream is alone on the agent's hub connection: bytes in flight wait in TCP buffers that
 * the connection's other streams share. In a loopback test on a busy 2-core machine a 64-byte
 * round trip beside a bulk stream took about 3 ms at 256 KiB, 9-15 ms at 1-2 MiB and 60 ms
 * at 16 MiB (through an SSH tunnel, whose channel window is 2 MiB: 18-24 ms).
 */
export const INITIAL_STREAM_WINDOW = 256 * 1024;

/**
 * Largest window any stream may grow to, and what agents state in hello. A relayed stream's
 * credit loop runs through three processes and four TCP connections: on a busy 2-core machine
 * a loopback bulk stream left a quarter of the CPU idle at 256 KiB and stopped waiting for
 * credit only at 8-16 MiB; across a WAN (tens of milliseconds each way) 256 KiB would cap a
 * stream at a few MB/s.
 */
export const MAX_STREAM_WINDOW = 16 * 1024 * 1024;

/**
 * The window limit of a peer that does not state one (agents and hubs from before windows
 * grew): they accept at most 16 x the initial window of outstanding credit.
 */
export const LEGACY_MAX_STREAM_WINDOW = 16 * INITIAL_STREAM_WINDOW;

/** A stated window limit, brought into the range this build supports. */
export function clampStreamWindow(stated: number | undefined): number {
  if (stated === undefined) return LEGACY_MAX_STREAM_WINDOW;
  return Math.max(INITIAL_STREAM_WINDOW, Math.min(stated, MAX_STREAM_WINDOW));
}

/**
 * Largest end-to-end handshake message carried in OPEN or OPEN_OK. The agents' Noise IK messages
 * are 96 and 48 bytes; the room left is for later patterns, and anything bigger is hostile.
 */
export const MAX_E2E_HANDSHAKE_BYTES = 1024;

/** Largest RST reason in bytes (the rest is cut). */
export const MAX_RESET_REASON_BYTES = 512;

/** Largest WebSocket message either side accepts (a batch of frames). */
export const MAX_WS_MESSAGE_BYTES = 4 * (FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD);
