import { DataFlag, FrameType, type FrameTypeValue, isKnownFrameType, knownFlagsOf } from "./frame-types.js";
import { FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD, MAX_RESET_REASON_BYTES } from "./limits.js";

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
 * OPEN_OK, from the hub to the reaching agent, carries how far that agent may grow the
 * stream's window (u32). An OPEN_OK without payload (from an exposing agent, or from an older
 * hub) states no limit.
 */
export function encodeOpenOk(streamId: number, maxWindow?: number): Buffer {
  return maxWindow === undefined
    ? encodeFrame(FrameType.OPEN_OK, streamId)
    : encodeU32Frame(FrameType.OPEN_OK, streamId, maxWindow);
}

export function decodeOpenOk(payload: Buffer): number | undefined {
  if (payload.length === 0) return undefined;
  if (payload.length !== 4) throw new ProtocolError("OPEN_OK payload must be empty or 4 bytes");
  return payload.readUInt32BE(0);
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
