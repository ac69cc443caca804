import { setImmediate as nextTurn } from "node:timers/promises";
import { encodeFrame, FRAME_HEADER_BYTES, FrameType, forEachFrame, MAX_WS_MESSAGE_BYTES } from "@private-connect/protocol";
import { describe, expect, it } from "vitest";
import { OutgoingFrames } from "./outgoing-frames.js";

class RecordingSocket {
  readonly messages: Buffer[] = [];
  send(message: Buffer): void {
    this.messages.push(message);
  }
}

/** One incoming message of `count` DATA frames of `size` bytes each, and the views a relay would forward. */
function incomingBatch(count: number, size: number): { message: Buffer; frames: Buffer[] } {
  const message = Buffer.concat(
    Array.from({ length: count }, (_, index) => encodeFrame(FrameType.DATA, index + 1, Buffer.alloc(size, index))),
  );
  const frames: Buffer[] = [];
  forEachFrame(message, (_type, _streamId, payload, offset) => {
    frames.push(message.subarray(offset, offset + FRAME_HEADER_BYTES + payload.length));
  });
  return { message, frames };
}

describe("OutgoingFrames", () => {
  it("sends adjacent views of one incoming message as one message, without copying, on the next turn", async () => {
    const socket = new RecordingSocket();
    const outgoing = new OutgoingFrames(socket);
    const { message, frames } = incomingBatch(3, 100);
    for (const frame of frames) outgoing.send(frame);
    expect(socket.messages).toHaveLength(0);
    await nextTurn();
    expect(socket.messages).toHaveLength(1);
    const sent = socket.messages[0] as Buffer;
    expect(sent.buffer).toBe(message.buffer);
    expect(sent.equals(message)).toBe(true);
  });

  it("starts a new message at a frame that is not adjacent, keeping the order", async () => {
    const socket = new RecordingSocket();
    const outgoing = new OutgoingFrames(socket);
    const { frames } = incomingBatch(3, 10);
    const [first, second, third] = frames as [Buffer, Buffer, Buffer];
    const own = encodeFrame(FrameType.FIN, 9);
    outgoing.send(first);
    outgoing.send(own);
    outgoing.send(second);
    // Skipping a frame leaves a gap: the third is not adjacent to the first.
    outgoing.send(first);
    outgoing.send(third);
    await nextTurn();
    expect(socket.messages.map((sent) => sent.length)).toEqual([first, own, second, first, third].map((frame) => frame.length));
    expect(Buffer.concat(socket.messages).equals(Buffer.concat([first, own, second, first, third]))).toBe(true);
  });

  it("never lets a message grow past MAX_WS_MESSAGE_BYTES", async () => {
    const socket = new RecordingSocket();
    const outgoing = new OutgoingFrames(socket);
    const { message, frames } = incomingBatch(10, 64 * 1024);
    for (const frame of frames) outgoing.send(frame);
    await nextTurn();
    expect(socket.messages.length).toBeGreaterThan(1);
    for (const sent of socket.messages) expect(sent.length).toBeLessThanOrEqual(MAX_WS_MESSAGE_BYTES);
    expect(Buffer.concat(socket.messages).equals(message)).toBe(true);
  });

  it("flush sends what is gathered at once, and the scheduled flush then has nothing left", async () => {
    const socket = new RecordingSocket();
    const outgoing = new OutgoingFrames(socket);
    outgoing.send(encodeFrame(FrameType.FIN, 1));
    outgoing.flush();
    expect(socket.messages).toHaveLength(1);
    await nextTurn();
    expect(socket.messages).toHaveLength(1);
  });

  it("sends nothing after close, neither what was gathered nor what comes later", async () => {
    const socket = new RecordingSocket();
    const outgoing = new OutgoingFrames(socket);
    outgoing.send(encodeFrame(FrameType.FIN, 1));
    outgoing.close();
    outgoing.send(encodeFrame(FrameType.FIN, 3));
    outgoing.flush();
    await nextTurn();
    expect(socket.messages).toHaveLength(0);
  });
});
