import { describe, expect, it } from "vitest";
import { FRAME_HEADER_BYTES, FrameType, forEachFrame, MAX_CONTROL_PAYLOAD, ProtocolError } from "./index.js";
import { decodePeerOpen, encodePeerOpen, type PeerOpenRequest } from "./peer-open.js";

const request: PeerOpenRequest = {
  agentId: "cm9agent000000000000000001",
  service: "postgres",
  workspaceId: "cm9workspace00000000000001",
  maxWindow: 16 * 1024 * 1024,
  share: { id: "cm9share0000000000000000001", expiresAt: "2026-12-31T23:59:59.000Z" },
  client: { kind: "agent", agentId: "cm9agent000000000000000002", label: "laptop" },
};

function payloadOf(frame: Buffer): Buffer {
  return frame.subarray(FRAME_HEADER_BYTES);
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

describe("peer OPEN", () => {
  it("round-trips as one OPEN frame on the given stream", () => {
    const frame = encodePeerOpen(7, request);
    const frames: { type: number; streamId: number; payload: Buffer }[] = [];
    forEachFrame(frame, (type, streamId, payload) => frames.push({ type, streamId, payload }));
    expect(frames).toHaveLength(1);
    expect(frames[0]?.type).toBe(FrameType.OPEN);
    expect(frames[0]?.streamId).toBe(7);
    expect(decodePeerOpen(payloadOf(frame))).toEqual(request);
  });

  it("carries a link's open without a share", () => {
    const link: PeerOpenRequest = { ...request, share: undefined, client: { kind: "link", label: "docs.example.com" } };
    const decoded = decodePeerOpen(payloadOf(encodePeerOpen(1, link)));
    expect(decoded.client).toEqual({ kind: "link", label: "docs.example.com" });
    expect(decoded.share).toBeUndefined();
  });

  it.each([
    ["not JSON", Buffer.from("{agentId:", "utf8"), /not JSON/],
    ["a missing agent id", json({ ...request, agentId: undefined }), /agentId/],
    ["an agent id over 64 characters", json({ ...request, agentId: "a".repeat(65) }), /agentId/],
    ["a workspace id over 64 characters", json({ ...request, workspaceId: "w".repeat(65) }), /workspaceId/],
    ["an empty service", json({ ...request, service: "" }), /service/],
    ["a service over the OPEN request's 63 characters", json({ ...request, service: "s".repeat(64) }), /service/],
    ["a label over 200 characters", json({ ...request, client: { kind: "link", label: "l".repeat(201) } }), /client/],
    ["an unknown client kind", json({ ...request, client: { kind: "browser", label: "x" } }), /client/],
    ["a zero window", json({ ...request, maxWindow: 0 }), /maxWindow/],
    ["a window beyond u32", json({ ...request, maxWindow: 2 ** 32 }), /maxWindow/],
    ["a share expiry that is not a date", json({ ...request, share: { id: "s", expiresAt: "tomorrow" } }), /share/],
    ["an array", json([request]), /invalid peer OPEN/],
  ])("refuses %s with a ProtocolError", (_what, payload, message) => {
    expect(() => decodePeerOpen(payload)).toThrow(ProtocolError);
    expect(() => decodePeerOpen(payload)).toThrow(message);
  });

  it("refuses a payload over the control limit before parsing it", () => {
    const huge = Buffer.alloc(MAX_CONTROL_PAYLOAD + 1, 0x20);
    expect(() => decodePeerOpen(huge)).toThrow(/too large/);
  });

  it("will not encode a request outside the schema", () => {
    expect(() => encodePeerOpen(1, { ...request, agentId: "" })).toThrow(ProtocolError);
  });
});
