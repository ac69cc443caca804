import { describe, expect, it } from "vitest";
import { HandshakeRefused } from "../tunnel/stream-cipher.js";
import { generateKeyPair, HandshakeState } from "./noise/index.js";
import { answerStreamHandshake, beginStreamHandshake, E2E_PROTOCOL_NAME, type StreamParties } from "./stream-handshake.js";
import { createStreamCiphers, RECORD_TAG_BYTES } from "./stream-records.js";

const parties: StreamParties = {
  reacher: { agentId: "agent-laptop", workspaceId: "ws-a" },
  exposer: { agentId: "agent-server", workspaceId: "ws-a" },
  service: "prod-db",
};

function handshake(options: { exposerParties?: StreamParties; exposerKeyUsed?: ReturnType<typeof generateKeyPair> } = {}) {
  const reacherKey = generateKeyPair();
  const exposerKey = generateKeyPair();
  const begun = beginStreamHandshake({ local: reacherKey, peerPublicKey: exposerKey.publicKey, parties });
  const answered = answerStreamHandshake({
    local: options.exposerKeyUsed ?? exposerKey,
    firstMessage: begun.firstMessage,
    parties: options.exposerParties ?? parties,
  });
  return { reacherKey, exposerKey, begun, answered };
}

function record(sealed: { body: Buffer; tag: Buffer }): Buffer {
  return Buffer.concat([sealed.body, sealed.tag]);
}

describe("end-to-end stream handshake", () => {
  it("authenticates both static keys in one message each way and yields matching record ciphers", () => {
    const { reacherKey, begun, answered } = handshake();
    expect(begun.to).toBe("agent-server");
    // IK: e, s (sealed), empty payload (tag) / e, empty payload (tag).
    expect(begun.firstMessage.length).toBe(32 + 48 + 16);
    expect(answered.answer.length).toBe(32 + 16);
    expect(answered.peerPublicKey.equals(reacherKey.publicKey)).toBe(true);
    const reacher = begun.finish(answered.answer);
    const up = reacher.send.seal(Buffer.from("SELECT 1"));
    expect(up.tag.length).toBe(RECORD_TAG_BYTES);
    expect(answered.ciphers.receive.open(record(up)).toString()).toBe("SELECT 1");
    const down = answered.ciphers.send.seal(Buffer.from("1 row"));
    expect(reacher.receive.open(record(down)).toString()).toBe("1 row");
  });

  it("carries each side's certificate payload, sealed, and fails the reaching side when it refuses the exposer's", () => {
    const reacherKey = generateKeyPair();
    const exposerKey = generateKeyPair();
    const reacherCertificate = Buffer.alloc(65, 0xa1);
    const exposerCertificate = Buffer.alloc(65, 0xb2);
    const seen: Buffer[] = [];
    const begun = beginStreamHandshake({
      local: reacherKey,
      peerPublicKey: exposerKey.publicKey,
      parties,
      presented: reacherCertificate,
      acceptPeer: (presented) => seen.push(Buffer.from(presented)),
    });
    // Encrypted like the static key: nothing of it is visible to the hub.
    expect(begun.firstMessage.length).toBe(32 + 48 + 65 + 16);
    expect(begun.firstMessage.includes(reacherCertificate.subarray(0, 16))).toBe(false);
    const answered = answerStreamHandshake({
      local: exposerKey,
      firstMessage: begun.firstMessage,
      parties,
      presented: exposerCertificate,
    });
    expect(answered.peerPresented).toEqual(reacherCertificate);
    expect(answered.answer.includes(exposerCertificate.subarray(0, 16))).toBe(false);
    begun.finish(answered.answer);
    expect(seen).toEqual([exposerCertificate]);

    const refusing = beginStreamHandshake({
      local: reacherKey,
      peerPublicKey: exposerKey.publicKey,
      parties,
      acceptPeer: () => {
        throw new HandshakeRefused("not certified");
      },
    });
    const answer = answerStreamHandshake({ local: exposerKey, firstMessage: refusing.firstMessage, parties }).answer;
    expect(() => refusing.finish(answer)).toThrow(HandshakeRefused);
  });

  it("fails when the hub names another reaching agent, workspace or service to the exposing side", () => {
    for (const changed of [
      { ...parties, reacher: { agentId: "agent-hub-made-up", workspaceId: "ws-a" } },
      { ...parties, reacher: { agentId: "agent-laptop", workspaceId: "ws-b" } },
      { ...parties, service: "other-db" },
    ]) {
      expect(() => handshake({ exposerParties: changed })).toThrow();
    }
  });

  it("fails at the exposing side when the first message was made for another key (a hub's own)", () => {
    expect(() => handshake({ exposerKeyUsed: generateKeyPair() })).toThrow();
  });

  it("fails at the reaching side when the answer does not come from the key it used", () => {
    const reacherKey = generateKeyPair();
    const exposerKey = generateKeyPair();
    const begun = beginStreamHandshake({ local: reacherKey, peerPublicKey: exposerKey.publicKey, parties });
    // A hub answering in the exposing agent's place, without its private key.
    const impostor = new HandshakeState({
      protocolName: E2E_PROTOCOL_NAME,
      initiator: false,
      localStaticPrivateKey: generateKeyPair().privateKey,
    });
    expect(() => impostor.readMessage(begun.firstMessage)).toThrow();
    const answered = handshake().answered;
    expect(() => begun.finish(answered.answer)).toThrow();
  });

  it("never seals two records under the same nonce, and refuses altered, replayed and reordered records", () => {
    const { begun, answered } = handshake();
    const reacher = begun.finish(answered.answer);
    const first = record(reacher.send.seal(Buffer.from("same")));
    const second = record(reacher.send.seal(Buffer.from("same")));
    expect(first.equals(second)).toBe(false);

    const altered = Buffer.from(first);
    altered[0] = (altered[0] as number) ^ 0x01;
    expect(() => answered.ciphers.receive.open(altered)).toThrow();
  });

  it("refuses a replayed record and one out of order", () => {
    const { begun, answered } = handshake();
    const reacher = begun.finish(answered.answer);
    const first = record(reacher.send.seal(Buffer.from("one")));
    expect(answered.ciphers.receive.open(first).toString()).toBe("one");
    expect(() => answered.ciphers.receive.open(first)).toThrow();

    const other = handshake();
    const otherReacher = other.begun.finish(other.answered.answer);
    otherReacher.send.seal(Buffer.from("a"));
    const b = record(otherReacher.send.seal(Buffer.from("b")));
    expect(() => other.answered.ciphers.receive.open(b)).toThrow();
  });

  it("refuses a record shorter than its tag", () => {
    const { answered } = handshake();
    expect(() => answered.ciphers.receive.open(Buffer.alloc(RECORD_TAG_BYTES - 1))).toThrow();
  });

  it("rekeys both directions at the same record, so streams outlive one key", () => {
    const keys = { reacher: generateKeyPair(), exposer: generateKeyPair(), e1: generateKeyPair(), e2: generateKeyPair() };
    // The same keys, ephemeral ones included, give the same transport keys: two copies of one stream.
    const split = () => {
      const initiator = new HandshakeState({
        protocolName: E2E_PROTOCOL_NAME,
        initiator: true,
        localStaticPrivateKey: keys.reacher.privateKey,
        remoteStaticPublicKey: keys.exposer.publicKey,
        fixedEphemeralPrivateKey: keys.e1.privateKey,
      });
      const responder = new HandshakeState({
        protocolName: E2E_PROTOCOL_NAME,
        initiator: false,
        localStaticPrivateKey: keys.exposer.privateKey,
        fixedEphemeralPrivateKey: keys.e2.privateKey,
      });
      responder.readMessage(initiator.writeMessage());
      initiator.readMessage(responder.writeMessage());
      return { initiator: initiator.split(), responder: responder.split() };
    };
    const first = split();
    const second = split();
    const sender = createStreamCiphers(first.initiator, 3);
    const receiver = createStreamCiphers(first.responder, 3);
    const neverRekeys = createStreamCiphers(second.responder, 1_000);
    for (let i = 0; i < 10; i++) {
      const sealed = record(sender.send.seal(Buffer.from(`record ${i}`)));
      expect(receiver.receive.open(sealed).toString()).toBe(`record ${i}`);
      // The fourth record is under the next key: a receiver still on the first one cannot open it.
      if (i < 3) expect(neverRekeys.receive.open(sealed).toString()).toBe(`record ${i}`);
      else if (i === 3) expect(() => neverRekeys.receive.open(sealed)).toThrow();
    }
  });
});
