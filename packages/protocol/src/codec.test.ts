import { describe, expect, it } from "vitest";
import {
  CloseCode,
  clampStreamWindow,
  DataFlag,
  decodeAgentOpenOk,
  decodeControl,
  decodeOpen,
  decodeOpenOk,
  decodeReset,
  decodeWindow,
  encodeAgentOpenOk,
  encodeControl,
  encodeFrame,
  encodeOpen,
  encodeOpenOk,
  encodeReset,
  encodeSenderBlocked,
  encodeWindow,
  FRAME_HEADER_BYTES,
  FrameType,
  forEachFrame,
  INITIAL_STREAM_WINDOW,
  isFatalCloseCode,
  LEGACY_MAX_STREAM_WINDOW,
  MAX_E2E_HANDSHAKE_BYTES,
  MAX_FRAME_PAYLOAD,
  MAX_STREAM_WINDOW,
  negotiateVersion,
  ProtocolError,
  ReceiveWindow,
  ResetCode,
  rewriteStreamId,
  SendCredit,
} from "./index.js";

function collect(message: Buffer) {
  const frames: { type: number; streamId: number; payload: Buffer; offset: number }[] = [];
  forEachFrame(message, (type, streamId, payload, offset) => frames.push({ type, streamId, payload, offset }));
  return frames;
}

describe("wire constants", () => {
  it("pins the frame type values (changing one breaks deployed agents)", () => {
    expect(FrameType).toEqual({ CONTROL: 1, OPEN: 2, OPEN_OK: 3, DATA: 4, WINDOW: 5, FIN: 6, RST: 7 });
  });

  it("pins the reset and close codes", () => {
    expect(ResetCode.SERVICE_NOT_FOUND).toBe(1);
    expect(ResetCode.UNAVAILABLE).toBe(11);
    expect(CloseCode.PROTOCOL_ERROR).toBe(4400);
    expect(CloseCode.UNAUTHORIZED).toBe(4401);
    expect(CloseCode.TOKEN_EXPIRED).toBe(4403);
    expect(CloseCode.AGENT_REVOKED).toBe(4410);
  });

  it("counts a revoked agent's close as fatal: reconnecting with that token cannot help", () => {
    expect(isFatalCloseCode(CloseCode.AGENT_REVOKED)).toBe(true);
    expect(isFatalCloseCode(CloseCode.HUB_SHUTDOWN)).toBe(false);
    expect(isFatalCloseCode(CloseCode.REPLACED)).toBe(false);
  });
});

describe("frame codec", () => {
  it("round-trips a DATA frame, header first", () => {
    const payload = Buffer.from("hello relay");
    const frame = encodeFrame(FrameType.DATA, 7, payload);
    expect(frame.length).toBe(FRAME_HEADER_BYTES + payload.length);
    expect([...frame.subarray(0, FRAME_HEADER_BYTES)]).toEqual([4, 0, 0, 0, 0, 7, 0, 0, 0, 11]);
    const [decoded] = collect(frame);
    expect(decoded).toMatchObject({ type: FrameType.DATA, streamId: 7, offset: 0 });
    expect(decoded?.payload.equals(payload)).toBe(true);
  });

  it("round-trips the largest allowed payload and several frames in one message", () => {
    const big = Buffer.alloc(MAX_FRAME_PAYLOAD, 0xab);
    const message = Buffer.concat([encodeFrame(FrameType.DATA, 1, big), encodeWindow(3, 4096), encodeFrame(FrameType.FIN, 1)]);
    const frames = collect(message);
    expect(frames.map((f) => f.type)).toEqual([FrameType.DATA, FrameType.WINDOW, FrameType.FIN]);
    expect(frames[0]?.payload.equals(big)).toBe(true);
    expect(decodeWindow(frames[1]?.payload ?? Buffer.alloc(0))).toBe(4096);
    expect(frames[2]?.payload.length).toBe(0);
  });

  it("hands out views, so a relay can rewrite the stream id without copying", () => {
    const message = Buffer.concat([encodeFrame(FrameType.FIN, 1), encodeFrame(FrameType.DATA, 5, Buffer.from("xy"))]);
    const second = collect(message)[1];
    if (!second) throw new Error("missing frame");
    rewriteStreamId(message, second.offset, 42);
    const forwarded = message.subarray(second.offset, second.offset + FRAME_HEADER_BYTES + second.payload.length);
    expect(collect(forwarded)[0]).toMatchObject({ streamId: 42, type: FrameType.DATA });
  });

  it("round-trips RST, OPEN and control messages", () => {
    const reset = collect(encodeReset(9, ResetCode.SERVICE_NOT_FOUND, "Service not found"))[0];
    expect(decodeReset(reset?.payload ?? Buffer.alloc(0))).toEqual({ code: 1, reason: "Service not found" });
    const open = collect(encodeOpen(3, { service: "prod-db", from: "acme" }))[0];
    expect(decodeOpen(open?.payload ?? Buffer.alloc(0))).toEqual({ service: "prod-db", from: "acme" });
    const hello = collect(encodeControl({ type: "hello", versions: [1], agentVersion: "0.1.0" }))[0];
    expect(hello?.streamId).toBe(0);
    expect(decodeControl(hello?.payload ?? Buffer.alloc(0))).toEqual({ type: "hello", versions: [1], agentVersion: "0.1.0" });
  });

  it("cuts an oversized reset reason instead of sending a huge frame", () => {
    const reset = collect(encodeReset(1, ResetCode.INTERNAL, "x".repeat(10_000)))[0];
    expect(decodeReset(reset?.payload ?? Buffer.alloc(0)).reason.length).toBe(512);
  });

  it("refuses to encode an oversized payload", () => {
    expect(() => encodeFrame(FrameType.DATA, 1, Buffer.alloc(MAX_FRAME_PAYLOAD + 1))).toThrow(RangeError);
  });
});

describe("hostile input", () => {
  const header = (type: number, flags: number, streamId: number, length: number) => {
    const b = Buffer.alloc(FRAME_HEADER_BYTES);
    b[0] = type;
    b[1] = flags;
    b.writeUInt32BE(streamId, 2);
    b.writeUInt32BE(length, 6);
    return b;
  };
  const cases: [string, Buffer][] = [
    ["an empty message", Buffer.alloc(0)],
    ["an unknown frame type", header(0x09, 0, 1, 0)],
    ["frame type zero", header(0x00, 0, 1, 0)],
    ["an unknown flag", header(FrameType.DATA, 0x80, 1, 0)],
    [
      "a DATA flag on a WINDOW frame",
      Buffer.concat([header(FrameType.WINDOW, DataFlag.SENDER_BLOCKED, 1, 4), Buffer.from([0, 0, 1, 0])]),
    ],
    [
      "an oversized payload length",
      Buffer.concat([header(FrameType.DATA, 0, 1, MAX_FRAME_PAYLOAD + 1), Buffer.alloc(MAX_FRAME_PAYLOAD + 1)]),
    ],
    ["a length beyond the message", Buffer.concat([header(FrameType.DATA, 0, 1, 100), Buffer.alloc(10)])],
    ["a truncated header", Buffer.from([FrameType.DATA, 0, 0])],
    ["trailing bytes after a frame", Buffer.concat([encodeFrame(FrameType.FIN, 1), Buffer.from([1, 2])])],
    ["a data frame on stream 0", header(FrameType.DATA, 0, 0, 0)],
    ["a control frame on a stream", header(FrameType.CONTROL, 0, 3, 0)],
  ];
  it.each(cases)("rejects %s with a ProtocolError", (_name, message) => {
    expect(() => forEachFrame(message, () => {})).toThrow(ProtocolError);
  });

  it("visits no frame of a message whose first frame is bad", () => {
    let visited = 0;
    expect(() => forEachFrame(header(0x7f, 0, 1, 0), () => visited++)).toThrow(ProtocolError);
    expect(visited).toBe(0);
  });

  it.each([
    ["not JSON", Buffer.from("{nope")],
    ["an unknown control type", Buffer.from(JSON.stringify({ type: "pwn" }))],
    ["a hello without versions", Buffer.from(JSON.stringify({ type: "hello", versions: [], agentVersion: "1" }))],
    [
      "an oversized control payload",
      Buffer.from(JSON.stringify({ type: "notice", level: "info", code: "x", message: "y".repeat(20_000) })),
    ],
  ])("rejects a control payload that is %s", (_name, payload) => {
    expect(() => decodeControl(payload)).toThrow(ProtocolError);
  });

  it("passes a DATA frame's SENDER_BLOCKED flag to the visitor, on an empty frame", () => {
    const seen: { type: number; length: number; flags: number }[] = [];
    const message = Buffer.concat([encodeFrame(FrameType.DATA, 5, Buffer.from("x")), encodeSenderBlocked(5)]);
    forEachFrame(message, (type, _id, payload, _offset, flags) => seen.push({ type, length: payload.length, flags }));
    expect(seen).toEqual([
      { type: FrameType.DATA, length: 1, flags: 0 },
      { type: FrameType.DATA, length: 0, flags: DataFlag.SENDER_BLOCKED },
    ]);
  });

  it("round-trips OPEN_OK with and without a window limit, and with a handshake answer", () => {
    const [withLimit] = collect(encodeOpenOk(3, MAX_STREAM_WINDOW));
    expect(decodeOpenOk(withLimit?.payload ?? Buffer.alloc(1))).toEqual({ maxWindow: MAX_STREAM_WINDOW, handshake: undefined });
    const [bare] = collect(encodeOpenOk(3));
    expect(decodeOpenOk(bare?.payload ?? Buffer.alloc(1))).toEqual({ maxWindow: undefined, handshake: undefined });
    expect(() => decodeOpenOk(Buffer.alloc(2))).toThrow(ProtocolError);
    const answer = Buffer.alloc(48, 7);
    const [withAnswer] = collect(encodeOpenOk(3, MAX_STREAM_WINDOW, answer));
    const decoded = decodeOpenOk(withAnswer?.payload ?? Buffer.alloc(1));
    expect(decoded.maxWindow).toBe(MAX_STREAM_WINDOW);
    expect(decoded.handshake?.equals(answer)).toBe(true);
  });

  it("carries an exposing agent's handshake answer as its whole OPEN_OK, and refuses an oversized one", () => {
    const answer = Buffer.alloc(48, 9);
    const [frame] = collect(encodeAgentOpenOk(4, answer));
    expect(decodeAgentOpenOk(frame?.payload ?? Buffer.alloc(0))?.equals(answer)).toBe(true);
    expect(decodeAgentOpenOk(Buffer.alloc(0))).toBeUndefined();
    expect(() => decodeAgentOpenOk(Buffer.alloc(MAX_E2E_HANDSHAKE_BYTES + 1))).toThrow(ProtocolError);
    expect(() => decodeOpenOk(Buffer.alloc(4 + MAX_E2E_HANDSHAKE_BYTES + 1))).toThrow(ProtocolError);
    expect(() => encodeAgentOpenOk(4, Buffer.alloc(MAX_E2E_HANDSHAKE_BYTES + 1))).toThrow(ProtocolError);
  });

  it("pins the end-to-end reset codes", () => {
    expect([ResetCode.E2E_REQUIRED, ResetCode.E2E_FAILED, ResetCode.E2E_PEER_CHANGED]).toEqual([12, 13, 14]);
  });

  it("takes an OPEN's end-to-end handshake only as bounded base64url", () => {
    const open = (e2e: unknown) => Buffer.from(JSON.stringify({ service: "db", e2e }));
    expect(decodeOpen(open({ to: "agent-1", handshake: "AbC-_9" })).e2e).toEqual({ to: "agent-1", handshake: "AbC-_9" });
    expect(() => decodeOpen(open({ handshake: "not base64url!" }))).toThrow(ProtocolError);
    expect(() => decodeOpen(open({ handshake: "A".repeat(2000) }))).toThrow(ProtocolError);
    expect(() => decodeOpen(open({ to: "x".repeat(65), handshake: "AA" }))).toThrow(ProtocolError);
  });

  it("reads a stated window limit into the supported range, and none as the protocol-1 limit", () => {
    expect(clampStreamWindow(undefined)).toBe(LEGACY_MAX_STREAM_WINDOW);
    expect(clampStreamWindow(1)).toBe(INITIAL_STREAM_WINDOW);
    expect(clampStreamWindow(2 ** 32 - 1)).toBe(MAX_STREAM_WINDOW);
    expect(clampStreamWindow(8 * 1024 * 1024)).toBe(8 * 1024 * 1024);
  });

  it("rejects malformed WINDOW and RST payloads", () => {
    expect(() => decodeWindow(Buffer.alloc(3))).toThrow(ProtocolError);
    expect(() => decodeWindow(Buffer.alloc(4))).toThrow(ProtocolError);
    expect(() => decodeReset(Buffer.alloc(1))).toThrow(ProtocolError);
    expect(() => decodeOpen(Buffer.from(JSON.stringify({ service: "" })))).toThrow(ProtocolError);
  });
});

describe("version negotiation", () => {
  it("picks the newest common version, or none", () => {
    expect(negotiateVersion([1, 2, 3], [1, 2])).toBe(2);
    expect(negotiateVersion([7], [1])).toBeUndefined();
  });
});

describe("flow-control credit", () => {
  it("lets a sender spend exactly its credit", () => {
    const credit = new SendCredit(100);
    expect(credit.consume(60)).toBe(true);
    expect(credit.consume(41)).toBe(false);
    credit.grant(1);
    expect(credit.consume(41)).toBe(true);
    expect(credit.bytes).toBe(0);
  });

  it("rejects a peer that grants more than the maximum window", () => {
    const credit = new SendCredit(100, 1000);
    expect(() => credit.grant(901)).toThrow(ProtocolError);
  });

  it("grows the window when the sender is blocked while the reader keeps up, up to the stream's limit", () => {
    const window = new ReceiveWindow(1000);
    // No limit from the hub yet: the window keeps its size.
    expect(window.senderBlocked(true)).toBe(0);
    window.setLimit(3000);
    window.release(100);
    // Doubled, and what was delivered but not yet returned goes back with the growth.
    expect(window.senderBlocked(true)).toBe(1000 + 100);
    expect(window.bytes).toBe(2000);
    // Quarter-window batches follow the new size.
    expect(window.release(499)).toBe(0);
    expect(window.release(1)).toBe(500);
    expect(window.senderBlocked(true)).toBe(1000);
    expect(window.bytes).toBe(3000);
    expect(window.senderBlocked(true)).toBe(0);
  });

  it("keeps the window of a reader that is behind, however often the sender is blocked", () => {
    const window = new ReceiveWindow(1000);
    window.setLimit(16_000);
    for (let i = 0; i < 10; i++) expect(window.senderBlocked(false)).toBe(0);
    expect(window.bytes).toBe(1000);
  });

  it("shrinks the window to a lower limit by withholding the difference from the credit it returns", () => {
    const window = new ReceiveWindow(1000);
    window.setLimit(4000);
    window.senderBlocked(true);
    window.senderBlocked(true);
    expect(window.bytes).toBe(4000);
    window.setLimit(1000);
    expect(window.bytes).toBe(1000);
    // 3000 bytes the sender may still have in flight beyond the new window earn no credit.
    expect(window.release(2000)).toBe(0);
    expect(window.release(1000)).toBe(0);
    expect(window.release(250)).toBe(250);
    // No growth while the debt is being repaid, and never below the initial window.
    window.setLimit(4000);
    window.setLimit(10);
    expect(window.bytes).toBe(1000);
  });

  it("does not grow while credit is still withheld after a shrink", () => {
    const window = new ReceiveWindow(1000);
    window.setLimit(2000);
    window.senderBlocked(true);
    window.setLimit(1000);
    window.setLimit(2000);
    expect(window.senderBlocked(true)).toBe(0);
    window.release(1000);
    expect(window.senderBlocked(true)).toBe(1000);
  });

  it("returns credit in batches of a quarter window", () => {
    const window = new ReceiveWindow(1000);
    expect(window.release(100)).toBe(0);
    expect(window.release(149)).toBe(0);
    expect(window.release(1)).toBe(250);
    expect(window.release(10)).toBe(0);
  });
});
