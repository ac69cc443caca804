import { describe, expect, it } from "vitest";
import { encodeFrame, encodeWindow, forEachFrame } from "./codec.js";
import { FrameType } from "./frame-types.js";
import { FrameWriter } from "./frame-writer.js";
import { MAX_FRAME_PAYLOAD } from "./limits.js";

function frames(messages: Buffer[]) {
  const out: { type: number; streamId: number; payload: string }[] = [];
  for (const message of messages) {
    forEachFrame(message, (type, streamId, payload) => out.push({ type, streamId, payload: payload.toString("hex") }));
  }
  return out;
}

describe("frame writer", () => {
  it("sends the frames of one event-loop turn as one message, in order", async () => {
    const sent: Buffer[] = [];
    const writer = new FrameWriter((m) => sent.push(Buffer.from(m)));
    writer.writeData(1, Buffer.from("aa", "hex"));
    writer.writeFrame(encodeWindow(3, 1000));
    writer.writeData(1, Buffer.from("bbcc", "hex"));
    writer.writeFrame(encodeFrame(FrameType.FIN, 1));
    expect(sent).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toHaveLength(1);
    expect(frames(sent).map((f) => [f.type, f.streamId])).toEqual([
      [FrameType.DATA, 1],
      [FrameType.WINDOW, 3],
      [FrameType.DATA, 1],
      [FrameType.FIN, 1],
    ]);
    expect(frames(sent)[2]?.payload).toBe("bbcc");
  });

  it("writes a payload and its trailer (a record's tag) back to back as one DATA frame", () => {
    const sent: Buffer[] = [];
    const writer = new FrameWriter((m) => sent.push(Buffer.from(m)));
    writer.writeData(5, Buffer.from("0102", "hex"), Buffer.from("ff", "hex"));
    writer.flush();
    expect(frames(sent)).toEqual([{ type: FrameType.DATA, streamId: 5, payload: "0102ff" }]);
    expect(() => writer.writeData(5, Buffer.alloc(MAX_FRAME_PAYLOAD), Buffer.alloc(1))).toThrow(RangeError);
  });

  it("splits batches at the message limit and across slabs without corrupting sent bytes", () => {
    const sent: Buffer[] = [];
    const writer = new FrameWriter((m) => sent.push(m), 200_000, 140_000);
    const payloads = Array.from({ length: 7 }, (_, i) => Buffer.alloc(MAX_FRAME_PAYLOAD, i + 1));
    for (const payload of payloads) writer.writeData(5, payload);
    writer.flush();
    expect(sent.length).toBeGreaterThan(3);
    for (const message of sent) expect(message.length).toBeLessThanOrEqual(140_000);
    const decoded = frames(sent);
    expect(decoded).toHaveLength(7);
    decoded.forEach((frame, i) => {
      expect(frame.payload).toBe((payloads[i] as Buffer).toString("hex"));
    });
  });

  it("discards what is batched when the connection is gone", async () => {
    const sent: Buffer[] = [];
    const writer = new FrameWriter((m) => sent.push(m));
    writer.writeData(1, Buffer.from("ff", "hex"));
    writer.discard();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toHaveLength(0);
  });

  it("reuses a slab only after every batch cut from it has been written", () => {
    const sent: { message: Buffer; written: () => void; copy: Buffer }[] = [];
    const writer = new FrameWriter(
      (message, written) => sent.push({ message, written, copy: Buffer.from(message) }),
      140_000,
      70_000,
    );
    const fill = (byte: number) => writer.writeData(1, Buffer.alloc(MAX_FRAME_PAYLOAD, byte));
    fill(1);
    fill(2); // the first slab is full: it retires with two batches in flight
    fill(3);
    writer.flush();
    const firstSlab = sent[0]?.message.buffer;
    expect(sent.length).toBe(3);
    // Nothing written yet: the next slab is fresh and the bytes on their way out are intact.
    fill(4);
    fill(5);
    writer.flush();
    expect(sent.slice(3).every((batch) => batch.message.buffer !== firstSlab)).toBe(true);
    for (const batch of sent) expect(batch.message.equals(batch.copy)).toBe(true);
    // Once the first slab's batches are written, a later slab is that memory again.
    sent[0]?.written();
    sent[1]?.written();
    sent[1]?.written(); // a second report of the same batch changes nothing
    for (let byte = 6; byte < 12; byte++) fill(byte);
    writer.flush();
    expect(sent.slice(5).some((batch) => batch.message.buffer === firstSlab)).toBe(true);
    // Batches still in flight were never overwritten.
    for (const batch of sent.slice(2)) expect(batch.message.equals(batch.copy)).toBe(true);
    expect(frames(sent.map((batch) => batch.copy)).map((frame) => frame.payload.slice(0, 2))).toEqual(
      Array.from({ length: 11 }, (_, i) => (i + 1).toString(16).padStart(2, "0")),
    );
  });
});
