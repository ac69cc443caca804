/**
 * Frame types on the relay WebSocket. These numbers are the wire format: changing one
 * breaks every deployed agent, so a test pins them.
 */
export const FrameType = {
  /** JSON control message on stream 0 (hello, welcome, notices, errors). */
  CONTROL: 0x01,
  /** Open a stream. Payload: JSON {@link OpenRequest}. */
  OPEN: 0x02,
  /**
   * The far side has connected; the stream is established. From the hub, payload: u32, how
   * far the reaching agent may grow the stream's window; from an agent, none.
   */
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

/** Flags of a DATA frame (header byte 1). Other frame types carry none. */
export const DataFlag = {
  /**
   * The sender has more to send but no credit left (usually on an empty DATA frame). A
   * receiver whose reader keeps up grows the window; one that does not, ignores it. Sent only
   * on streams the hub gave a window limit, and cleared by the hub for agents that never
   * stated one (they would reject the flag).
   */
  SENDER_BLOCKED: 0x01,
} as const;

/** Flags each frame type may carry; any other set bit is a protocol error. */
export function knownFlagsOf(type: FrameTypeValue): number {
  return type === FrameType.DATA ? DataFlag.SENDER_BLOCKED : 0;
}

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
  /** Plaintext refused: the service (or the peer, known to encrypt) requires end-to-end encryption. */
  E2E_REQUIRED: 12,
  /** The end-to-end handshake or a record failed: a changed or wrong key, or bytes altered on the way. */
  E2E_FAILED: 13,
  /** The handshake was for another agent than the one serving the service now: resolve it again. */
  E2E_PEER_CHANGED: 14,
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
  /**
   * An owner (or a key, or the removal of who approved it) revoked this agent: its token is dead
   * for good. A control error with code "agent_revoked" and the reason comes just before.
   */
  AGENT_REVOKED: 4410,
} as const;

/** The control error code the hub sends a revoked agent just before closing with AGENT_REVOKED. */
export const AGENT_REVOKED_ERROR_CODE = "agent_revoked";

/**
 * How every refusal of a revoked agent's token begins, on the relay (its upgrade's 401) and on
 * tRPC alike, so an agent that was offline when it happened still learns it was revoked.
 */
export const AGENT_REVOKED_MESSAGE_PREFIX = "This agent was revoked";

/** Close codes after which reconnecting with the same credentials cannot help. */
export function isFatalCloseCode(code: number): boolean {
  return (
    code === CloseCode.UNAUTHORIZED ||
    code === CloseCode.TOKEN_EXPIRED ||
    code === CloseCode.UNSUPPORTED_VERSION ||
    code === CloseCode.AGENT_REVOKED
  );
}
