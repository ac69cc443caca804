/**
 * Frame types on the relay WebSocket. These numbers are the wire format: changing one
 * breaks every deployed agent, so a test pins them.
 */
export const FrameType = {
  /** JSON control message on stream 0 (hello, welcome, notices, errors). */
  CONTROL: 0x01,
  /** Open a stream. Payload: JSON {@link OpenRequest}. */
  OPEN: 0x02,
  /** The far side has connected; the stream is established. No payload. */
  OPEN_OK: 0x03,
  /** Opaque stream bytes. Never parsed, never logged. */
  DATA: 0x04,
  /** Flow-control credit: payload is a u32 number of bytes the sender may send more. */
  WINDOW: 0x05,
  /** Half-close: the sender will send no more DATA on this stream. No payload. */
  FIN: 0x06,
  /** Abort the stream in both directions. Payload: u16 code + UTF-8 reason. */
  RST: 0x07,
} as const;

export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

const knownTypes = new Set<number>(Object.values(FrameType));

export function isKnownFrameType(type: number): type is FrameTypeValue {
  return knownTypes.has(type);
}

/**
 * No flags are defined in protocol version 1. The field exists so later versions can add
 * some; until a version negotiates them, any set bit is a protocol error.
 */
export const KNOWN_FLAGS_MASK = 0x00;

/** Why a stream was reset. Carried in RST frames; also pinned by a test. */
export const ResetCode = {
  SERVICE_NOT_FOUND: 1,
  SERVICE_OFFLINE: 2,
  CONNECT_FAILED: 3,
  PEER_GONE: 4,
  PROTOCOL_ERROR: 5,
  FLOW_CONTROL: 6,
  LIMIT_EXCEEDED: 7,
  REVOKED: 8,
  INTERNAL: 9,
  CANCELLED: 10,
  UNAVAILABLE: 11,
} as const;

export type ResetCodeValue = (typeof ResetCode)[keyof typeof ResetCode];

/** WebSocket close codes the hub and agent use (4000-4999 is the application range). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** Hub is shutting down or restarting: reconnect (possibly elsewhere). */
  HUB_SHUTDOWN: 4000,
  PROTOCOL_ERROR: 4400,
  UNAUTHORIZED: 4401,
  TOKEN_EXPIRED: 4403,
  LIMIT_EXCEEDED: 4408,
  UNSUPPORTED_VERSION: 4426,
  /** Another connection with the same agent identity replaced this one. */
  REPLACED: 4409,
} as const;

/** Close codes after which reconnecting with the same credentials cannot help. */
export function isFatalCloseCode(code: number): boolean {
  return code === CloseCode.UNAUTHORIZED || code === CloseCode.TOKEN_EXPIRED || code === CloseCode.UNSUPPORTED_VERSION;
}
