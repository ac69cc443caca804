import { once } from "node:events";
import { connect as connectTcp, createServer, type Socket } from "node:net";
import { FrameType, MAX_FRAME_PAYLOAD } from "@private-connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { generateKeyPair } from "../e2e/noise/index.js";
import { MAX_NOISE_MESSAGE_LENGTH } from "../e2e/noise/limits.js";
import { answerStreamHandshake, beginStreamHandshake, type StreamParties } from "../e2e/stream-handshake.js";
import { type FrameSink, StreamBridge } from "./stream-bridge.js";

const parties: StreamParties = {
  reacher: { agentId: "agent-laptop", workspaceId: "ws-a" },
  exposer: { agentId: "agent-server", workspaceId: "ws-a" },
  service: "prod-db",
};

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** A connected pair on loopback: the bridge's socket and the client writing into it. */
async function socketPair(): Promise<{ bridged: Socket; client: Socket }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const client = connectTcp(address.port, "127.0.0.1");
  const [bridged] = await accepted;
  server.close();
  sockets.push(bridged, client);
  return { bridged, client };
}

/** Both ends of a completed handshake, and a sink that records each DATA payload whole. */
function handshakeAndRecordingSink() {
  const reacherKey = generateKeyPair();
  const exposerKey = generateKeyPair();
  const begun = beginStreamHandshake({ local: reacherKey, peerPublicKey: exposerKey.publicKey, parties });
  const answered = answerStreamHandshake({ local: exposerKey, firstMessage: begun.firstMessage, parties });
  const records: Buffer[] = [];
  const sink: FrameSink = {
    send: () => {},
    sendData: (_id, ...parts) => records.push(Buffer.concat(parts.filter((part) => part !== undefined))),
  };
  return { begun, answered, records, sink };
}

describe("StreamBridge, end to end", () => {
  it("splits one large read into records Noise accepts, and holds early data until the handshake completes", async () => {
    const { begun, answered, records, sink } = handshakeAndRecordingSink();
    const { bridged, client } = await socketPair();
    const bridge = new StreamBridge(1, bridged, sink, () => {});
    bridge.awaitHandshake();

    // More than one DATA frame's worth in a single write: a read of 64 KiB or more is likely.
    const sent = Buffer.alloc(200 * 1024);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) & 0xff;
    client.write(sent);
    await once(bridged, "data").catch(() => {});
    await new Promise((resolve) => setImmediate(resolve));
    expect(records).toEqual([]);

    bridge.startEncrypting(begun.finish(answered.answer));
    await expect.poll(() => records.reduce((sum, r) => sum + r.length - 16, 0), { timeout: 3_000 }).toBe(sent.length);

    for (const record of records) {
      expect(record.length).toBeLessThanOrEqual(MAX_FRAME_PAYLOAD);
      expect(record.length).toBeLessThanOrEqual(MAX_NOISE_MESSAGE_LENGTH);
    }
    const received = Buffer.concat(records.map((record) => answered.ciphers.receive.open(record)));
    expect(received.equals(sent)).toBe(true);
  });

  it("seals full 64 KiB reads as full records, the remainders carried into the next read's record", async () => {
    const { begun, answered, records, sink } = handshakeAndRecordingSink();
    const { bridged } = await socketPair();
    const bridge = new StreamBridge(1, bridged, sink, () => {});
    bridge.startEncrypting(begun.finish(answered.answer));

    // Three reads of 64 KiB in one event-loop turn, as a busy socket delivers them.
    const reads = [0, 1, 2].map((n) => Buffer.alloc(64 * 1024, n + 1));
    for (const read of reads) bridged.emit("data", read);
    const largest = MAX_NOISE_MESSAGE_LENGTH - 16;
    // Within the turn: only full records; 3 x 17 bytes wait for the next read.
    expect(records.map((record) => record.length - 16)).toEqual([largest, largest, largest]);
    await new Promise((resolve) => setImmediate(resolve));
    // The turn ended with no further read: the held bytes went out as one record.
    expect(records.map((record) => record.length - 16)).toEqual([largest, largest, largest, 3 * 17]);
    const received = Buffer.concat(records.map((record) => answered.ciphers.receive.open(record)));
    expect(received.equals(Buffer.concat(reads))).toBe(true);

    // A small read (an interactive query) is sealed at once, never held.
    bridged.emit("data", Buffer.from("SELECT 1"));
    expect(records).toHaveLength(5);
    expect(answered.ciphers.receive.open(records[4] as Buffer).toString()).toBe("SELECT 1");

    // The client ends right after a full read: the held bytes still go before the end of data and FIN.
    const frames: Buffer[] = [];
    sink.send = (frame) => frames.push(frame);
    bridge.receiveWindow(1024 * 1024);
    bridged.emit("data", Buffer.alloc(64 * 1024, 9));
    bridged.emit("end");
    expect(frames).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(records.slice(5).map((record) => record.length - 16)).toEqual([largest, 17, 0]);
    for (const record of records.slice(5)) answered.ciphers.receive.open(record);
    expect(frames.map((frame) => frame[0])).toEqual([FrameType.FIN]);
  });
});

describe("StreamBridge, reads into a reused buffer", () => {
  it("keeps a copy of what it must hold (no credit yet, a record's tail), so the next read cannot change it", async () => {
    const sent: Buffer[] = [];
    const sink: FrameSink = {
      send: () => {},
      sendData: (_id, ...parts) => sent.push(Buffer.concat(parts.filter((part) => part !== undefined))),
    };
    const { bridged } = await socketPair();
    const bridge = new StreamBridge(2, bridged, sink, () => {});
    const readBuffer = Buffer.alloc(64 * 1024);

    // A first read spends the whole initial window; a second one waits for credit.
    const window = 256 * 1024;
    for (let offset = 0; offset < window; offset += readBuffer.length) {
      readBuffer.fill(1);
      bridge.receiveBorrowedRead(readBuffer);
    }
    readBuffer.fill(2);
    bridge.receiveBorrowedRead(readBuffer.subarray(0, 100));
    // The socket reads into the same buffer again before any credit arrives.
    readBuffer.fill(3);
    const before = sent.length;
    bridge.receiveWindow(1000);
    expect(sent.slice(before)).toEqual([Buffer.alloc(100, 2)]);

    // End to end: the tail held for the next read's record is a copy too.
    const { begun, answered, records, sink: recordSink } = handshakeAndRecordingSink();
    const { bridged: sealed } = await socketPair();
    const sealing = new StreamBridge(4, sealed, recordSink, () => {});
    sealing.startEncrypting(begun.finish(answered.answer));
    readBuffer.fill(4);
    sealing.receiveBorrowedRead(readBuffer);
    readBuffer.fill(5);
    await new Promise((resolve) => setImmediate(resolve));
    const received = Buffer.concat(records.map((record) => answered.ciphers.receive.open(record)));
    expect(received.equals(Buffer.alloc(64 * 1024, 4))).toBe(true);
  });
});
