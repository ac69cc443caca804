import { DataFlag, FrameType, type FrameTypeValue, isKnownFrameType, knownFlagsOf } from "./frame-types.js";
import { FRAME_HEADER_BYTES, MAX_E2E_HANDSHAKE_BYTES, MAX_FRAME_PAYLOAD, MAX_RESET_REASON_BYTES } from "./limits.js";

/** A wire-format violation. Whoever receives it closes that one connection. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
}

/**
 * Called once per frame in a message. `payload` is a view into the received buffer, not a
 * copy: keep it only as long as the buffer lives. `offset` is where the frame's header
 * starts in the message, so a relay can rewrite the stream id in place and forward
 * `message.subarray(offset, offset + FRAME_HEADER_BYTES + payload.length)` without copying.
 */
export type FrameVisitor = (type: FrameTypeValue, streamId: number, payload: Buffer, offset: number, flags: number) => void;

/**
 * Walks every frame of one WebSocket message. A message holds one or more whole frames;
 * anything else (truncation, trailing bytes, unknown type or flag, oversized payload)
 * throws ProtocolError before the offending frame is visited.
 */
export function forEachFrame(message: Buffer, visit: FrameVisitor): void {
  let offset = 0;
  if (message.length === 0) throw new ProtocolError("empty message");
  while (offset < message.length) {
    if (message.length - offset < FRAME_HEADER_BYTES) {
      throw new ProtocolError("truncated frame header");
    }
    const type = message[offset] as number;
    const flags = message[offset + 1] as number;
    const streamId = message.readUInt32BE(offset + 2);
    const length = message.readUInt32BE(offset + 6);
    if (!isKnownFrameType(type)) throw new ProtocolError(`unknown frame type 0x${type.toString(16)}`);
    if ((flags & ~knownFlagsOf(type)) !== 0) throw new ProtocolError(`unknown frame flags 0x${flags.toString(16)}`);
    if (length > MAX_FRAME_PAYLOAD) throw new ProtocolError(`frame payload of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
    const start = offset + FRAME_HEADER_BYTES;
    const end = start + length;
    if (end > message.length) throw new ProtocolError("truncated frame payload");
    validateStreamId(type, streamId);
    visit(type, streamId, message.subarray(start, end), offset, flags);
    offset = end;
  }
}

function validateStreamId(type: FrameTypeValue, streamId: number): void {
  const isControl = type === FrameType.CONTROL;
  if (isControl && streamId !== 0) throw new ProtocolError("control frame on a stream");
  if (!isControl && streamId === 0) throw new ProtocolError("stream frame on stream 0");
}

function writeHeader(target: Buffer, offset: number, type: FrameTypeValue, streamId: number, length: number): void {
  target[offset] = type;
  target[offset + 1] = 0;
  target.writeUInt32BE(streamId >>> 0, offset + 2);
  target.writeUInt32BE(length, offset + 6);
}

/** Encodes one frame into a fresh buffer (header + a copy of the payload). */
export function encodeFrame(type: FrameTypeValue, streamId: number, payload?: Uint8Array): Buffer {
  const length = payload ? payload.length : 0;
  if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`payload of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  writeHeader(frame, 0, type, streamId, length);
  if (payload && length > 0) frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Rewrites the stream id of the frame whose header starts at `offset`, in place. */
export function rewriteStreamId(message: Buffer, offset: number, streamId: number): void {
  message.writeUInt32BE(streamId >>> 0, offset + 2);
}

/** An empty DATA frame saying the sender is out of credit with more to send. */
export function encodeSenderBlocked(streamId: number): Buffer {
  const frame = encodeFrame(FrameType.DATA, streamId);
  frame[1] = DataFlag.SENDER_BLOCKED;
  return frame;
}

/** A frame whose whole payload is one u32 (WINDOW, and OPEN_OK from the hub). */
function encodeU32Frame(type: FrameTypeValue, streamId: number, value: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeHeader(frame, 0, type, streamId, 4);
  frame.writeUInt32BE(value, FRAME_HEADER_BYTES);
  return frame;
}

export function encodeWindow(streamId: number, increment: number): Buffer {
  return encodeU32Frame(FrameType.WINDOW, streamId, increment);
}

export function decodeWindow(payload: Buffer): number {
  if (payload.length !== 4) throw new ProtocolError("WINDOW payload must be 4 bytes");
  const increment = payload.readUInt32BE(0);
  if (increment === 0) throw new ProtocolError("WINDOW increment must be positive");
  return increment;
}

/**
 * OPEN_OK from the hub (or a peer hub) carries how far the receiver may grow the stream's window
 * (u32), then, for an end-to-end stream, the exposing agent's handshake answer. An OPEN_OK
 * without payload (from an older hub) states no limit.
 */
export function encodeOpenOk(streamId: number, maxWindow?: number, handshake?: Uint8Array): Buffer {
  if (maxWindow === undefined) return encodeFrame(FrameType.OPEN_OK, streamId);
  if (handshake === undefined || handshake.length === 0) return encodeU32Frame(FrameType.OPEN_OK, streamId, maxWindow);
  checkHandshakeLength(handshake.length);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 + handshake.length);
  writeHeader(frame, 0, FrameType.OPEN_OK, streamId, 4 + handshake.length);
  frame.writeUInt32BE(maxWindow, FRAME_HEADER_BYTES);
  frame.set(handshake, FRAME_HEADER_BYTES + 4);
  return frame;
}

export interface OpenOk {
  maxWindow: number | undefined;
  /** The exposing agent's handshake answer, as a view of the payload; undefined for a plaintext stream. */
  handshake: Buffer | undefined;
}

/** Reads an OPEN_OK from a hub: empty, a u32, or a u32 and a handshake answer. */
export function decodeOpenOk(payload: Buffer): OpenOk {
  if (payload.length === 0) return { maxWindow: undefined, handshake: undefined };
  if (payload.length < 4) throw new ProtocolError("OPEN_OK payload must be empty or start with a u32");
  const handshake = payload.length > 4 ? payload.subarray(4) : undefined;
  if (handshake !== undefined) checkHandshakeLength(handshake.length);
  return { maxWindow: payload.readUInt32BE(0), handshake };
}

/** OPEN_OK from an exposing agent: its handshake answer is the whole payload (none for plaintext). */
export function encodeAgentOpenOk(streamId: number, handshake?: Uint8Array): Buffer {
  if (handshake !== undefined) checkHandshakeLength(handshake.length);
  return encodeFrame(FrameType.OPEN_OK, streamId, handshake);
}

/** Reads an exposing agent's OPEN_OK: the handshake answer, or undefined for a plaintext stream. */
export function decodeAgentOpenOk(payload: Buffer): Buffer | undefined {
  if (payload.length === 0) return undefined;
  checkHandshakeLength(payload.length);
  return payload;
}

function checkHandshakeLength(length: number): void {
  if (length > MAX_E2E_HANDSHAKE_BYTES) {
    throw new ProtocolError(`handshake of ${length} bytes exceeds ${MAX_E2E_HANDSHAKE_BYTES}`);
  }
}

export function encodeReset(streamId: number, code: number, reason: string): Buffer {
  const text = Buffer.from(reason, "utf8").subarray(0, MAX_RESET_REASON_BYTES);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 2 + text.length);
  writeHeader(frame, 0, FrameType.RST, streamId, 2 + text.length);
  frame.writeUInt16BE(code, FRAME_HEADER_BYTES);
  text.copy(frame, FRAME_HEADER_BYTES + 2);
  return frame;
}

export interface ResetInfo {
  code: number;
  reason: string;
}

export function decodeReset(payload: Buffer): ResetInfo {
  if (payload.length < 2) throw new ProtocolError("RST payload must carry a code");
  if (payload.length > 2 + MAX_RESET_REASON_BYTES) throw new ProtocolError("RST reason too long");
  return { code: payload.readUInt16BE(0), reason: payload.toString("utf8", 2) };
}
