import { describe, expect, it } from "vitest";
import { encodeFrame, encodeWindow, forEachFrame } from "./codec.js";
import { FrameType } from "./frame-types.js";
import { MAX_FRAME_PAYLOAD } from "./limits.js";
import { INTERACTIVE_DATA_BYTES, PrioritizedFrameWriter } from "./prioritized-frame-writer.js";

type Sent = { message: number; type: number; streamId: number; length: number };

function decode(messages: Buffer[]): Sent[] {
  const out: Sent[] = [];
  messages.forEach((message, index) => {
    forEachFrame(message, (type, streamId, payload) => {
      out.push({ message: index, type, streamId, length: payload.length });
    });
  });
  return out;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("prioritized frame writer", () => {
  it("sends a turn's small frames as one message ahead of the turn's bulk data", async () => {
    const sent: Buffer[] = [];
    const writer = new PrioritizedFrameWriter((m) => sent.push(Buffer.from(m)));
    writer.writeData(1, Buffer.alloc(MAX_FRAME_PAYLOAD, 1));
    writer.writeData(3, Buffer.alloc(64, 3));
    writer.writeFrame(encodeWindow(1, 1000));
    writer.writeData(1, Buffer.alloc(MAX_FRAME_PAYLOAD, 1));
    await turn();
    expect(decode(sent)).toEqual([
      { message: 0, type: FrameType.DATA, streamId: 3, length: 64 },
      { message: 0, type: FrameType.WINDOW, streamId: 1, length: 4 },
      { message: 1, type: FrameType.DATA, streamId: 1, length: MAX_FRAME_PAYLOAD },
      { message: 1, type: FrameType.DATA, streamId: 1, length: MAX_FRAME_PAYLOAD },
    ]);
  });

  it("keeps a stream's order: after its bulk data, its small data and FIN follow it in the bulk lane", async () => {
    const sent: Buffer[] = [];
    const writer = new PrioritizedFrameWriter((m) => sent.push(Buffer.from(m)));
    writer.writeData(5, Buffer.alloc(10, 1));
    writer.writeData(5, Buffer.alloc(INTERACTIVE_DATA_BYTES + 1, 2));
    writer.writeData(5, Buffer.alloc(10, 3));
    writer.writeFrame(encodeFrame(FrameType.FIN, 5));
    await turn();
    expect(decode(sent).map(({ type, length }) => [type, length])).toEqual([
      [FrameType.DATA, 10],
      [FrameType.DATA, INTERACTIVE_DATA_BYTES + 1],
      [FrameType.DATA, 10],
      [FrameType.FIN, 0],
    ]);
    // The next turn starts afresh: the stream's small frames are interactive again.
    sent.length = 0;
    writer.writeData(7, Buffer.alloc(MAX_FRAME_PAYLOAD));
    writer.writeData(5, Buffer.alloc(10));
    await turn();
    expect(decode(sent).map(({ message, streamId }) => [message, streamId])).toEqual([
      [0, 5],
      [1, 7],
    ]);
  });

  it("sends earlier small frames first when a full bulk batch leaves in mid-turn", () => {
    const sent: Buffer[] = [];
    const writer = new PrioritizedFrameWriter((m) => sent.push(Buffer.from(m)));
    writer.writeData(9, Buffer.alloc(20, 1));
    // More than one message's worth of bulk data (MAX_WS_MESSAGE_BYTES holds four full frames).
    for (let i = 0; i < 6; i++) writer.writeData(9, Buffer.alloc(MAX_FRAME_PAYLOAD, 2));
    writer.flush();
    const frames = decode(sent);
    expect(frames.map(({ length }) => length)).toEqual([20, ...Array(6).fill(MAX_FRAME_PAYLOAD)]);
    expect(new Set(frames.map(({ message }) => message)).size).toBe(3);
  });

  it("sends nothing once discarded", async () => {
    const sent: Buffer[] = [];
    const writer = new PrioritizedFrameWriter((m) => sent.push(Buffer.from(m)));
    writer.writeData(1, Buffer.alloc(10));
    writer.writeData(3, Buffer.alloc(MAX_FRAME_PAYLOAD));
    writer.discard();
    await turn();
    expect(sent).toHaveLength(0);
  });
});
