import { describe, expect, it } from "vitest";
import { generateKeyPair } from "./dh25519.js";
import { type HandshakeOptions, HandshakeState } from "./handshake-state.js";
import { isNoiseError } from "./noise-error.js";

const PRODUCTION = "Noise_IK_25519_AESGCM_SHA256";

function noiseCode(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isNoiseError(error) ? error.code : `not a NoiseError: ${String(error)}`;
  }
  return undefined;
}

function ikPair(prologues: { initiator: string; responder: string } = { initiator: "p", responder: "p" }) {
  const initiatorStatic = generateKeyPair();
  const responderStatic = generateKeyPair();
  const initiator = new HandshakeState({
    protocolName: PRODUCTION,
    initiator: true,
    prologue: Buffer.from(prologues.initiator),
    localStaticPrivateKey: initiatorStatic.privateKey,
    remoteStaticPublicKey: responderStatic.publicKey,
  });
  const responder = new HandshakeState({
    protocolName: PRODUCTION,
    initiator: false,
    prologue: Buffer.from(prologues.responder),
    localStaticPrivateKey: responderStatic.privateKey,
  });
  return { initiator, responder, initiatorStatic, responderStatic };
}

describe("HandshakeState", () => {
  it("completes IK with fresh keys: both sides agree on h, learn the static keys and talk both ways", () => {
    const { initiator, responder, initiatorStatic, responderStatic } = ikPair();
    expect(initiator.isMyTurn).toBe(true);
    expect(responder.readMessage(initiator.writeMessage()).length).toBe(0);
    expect(responder.remoteStaticKey?.equals(initiatorStatic.publicKey)).toBe(true);
    expect(initiator.readMessage(responder.writeMessage(Buffer.from("hello"))).toString()).toBe("hello");
    expect(initiator.isComplete && responder.isComplete).toBe(true);
    expect(initiator.remoteStaticKey?.equals(responderStatic.publicKey)).toBe(true);
    expect(initiator.handshakeHash.equals(responder.handshakeHash)).toBe(true);

    const a = initiator.split();
    const b = responder.split();
    const toResponder = a.send.seal(Buffer.from("ping"));
    expect(b.receive.open(toResponder.ciphertext, toResponder.tag).toString()).toBe("ping");
    const toInitiator = b.send.seal(Buffer.from("pong"));
    expect(a.receive.open(toInitiator.ciphertext, toInitiator.tag).toString()).toBe("pong");
    // The two directions use different keys: a record cannot be reflected back to its sender.
    const reflected = a.send.seal(Buffer.from("mirror"));
    expect(noiseCode(() => a.receive.open(reflected.ciphertext, reflected.tag))).toBe("DECRYPTION_FAILED");
    expect(noiseCode(() => initiator.split())).toBe("WRONG_STATE");
  });

  it("fails when the prologues differ", () => {
    const { initiator, responder } = ikPair({ initiator: "workspace A", responder: "workspace B" });
    expect(noiseCode(() => responder.readMessage(initiator.writeMessage()))).toBe("DECRYPTION_FAILED");
    // NN carries nothing encrypted in its first message; the mismatch shows at the second.
    const nnInitiator = new HandshakeState({
      protocolName: "Noise_NN_25519_ChaChaPoly_SHA256",
      initiator: true,
      prologue: Buffer.from("a"),
    });
    const nnResponder = new HandshakeState({
      protocolName: "Noise_NN_25519_ChaChaPoly_SHA256",
      initiator: false,
      prologue: Buffer.from("b"),
    });
    nnResponder.readMessage(nnInitiator.writeMessage());
    expect(noiseCode(() => nnInitiator.readMessage(nnResponder.writeMessage()))).toBe("DECRYPTION_FAILED");
  });

  it("fails when the initiator expects another responder key", () => {
    const { initiator } = ikPair();
    const impostor = new HandshakeState({
      protocolName: PRODUCTION,
      initiator: false,
      localStaticPrivateKey: generateKeyPair().privateKey,
      prologue: Buffer.from("p"),
    });
    expect(noiseCode(() => impostor.readMessage(initiator.writeMessage()))).toBe("DECRYPTION_FAILED");
  });

  it("refuses a handshake message with any one byte changed, and stays failed", () => {
    const first = ikPair().initiator.writeMessage();
    for (let index = 0; index < first.length; index += 1) {
      const { initiator, responder } = ikPair();
      const message = initiator.writeMessage();
      message[index] = (message[index] ?? 0) ^ 0x80;
      const code = noiseCode(() => responder.readMessage(message));
      expect(["DECRYPTION_FAILED", "INVALID_KEY"], `byte ${index}: ${code}`).toContain(code);
      expect(noiseCode(() => responder.writeMessage())).toBe("WRONG_STATE");
    }
  });

  it("refuses messages of the wrong length", () => {
    const { initiator, responder } = ikPair();
    const message = initiator.writeMessage();
    expect(message.length).toBe(32 + 48 + 16);
    expect(noiseCode(() => responder.readMessage(message.subarray(0, 95)))).toBe("MALFORMED_MESSAGE");
    const again = ikPair();
    const longer = Buffer.concat([again.initiator.writeMessage(), Buffer.from([0])]);
    expect(noiseCode(() => again.responder.readMessage(longer))).toBe("DECRYPTION_FAILED");
  });

  it("enforces the 65535-byte message limit both ways", () => {
    const nn = (initiator: boolean) => new HandshakeState({ protocolName: "Noise_NN_25519_AESGCM_SHA256", initiator });
    // NN's first message is e (32 bytes) and the payload in clear.
    expect(nn(true).writeMessage(Buffer.alloc(65_535 - 32)).length).toBe(65_535);
    expect(noiseCode(() => nn(true).writeMessage(Buffer.alloc(65_535 - 32 + 1)))).toBe("MESSAGE_TOO_LARGE");
    expect(noiseCode(() => nn(false).readMessage(Buffer.alloc(65_536)))).toBe("MESSAGE_TOO_LARGE");
  });

  it("refuses to act out of turn or after completion", () => {
    const { initiator, responder } = ikPair();
    expect(noiseCode(() => responder.writeMessage())).toBe("WRONG_STATE");
    expect(noiseCode(() => initiator.readMessage(Buffer.alloc(48)))).toBe("WRONG_STATE");
    expect(noiseCode(() => initiator.split())).toBe("WRONG_STATE");
    responder.readMessage(initiator.writeMessage());
    initiator.readMessage(responder.writeMessage());
    expect(noiseCode(() => initiator.writeMessage())).toBe("WRONG_STATE");
    expect(noiseCode(() => responder.readMessage(Buffer.alloc(48)))).toBe("WRONG_STATE");
  });

  it("refuses a low-order (all-zero) ephemeral key from the peer", () => {
    const responder = new HandshakeState({ protocolName: "Noise_NN_25519_AESGCM_SHA256", initiator: false });
    responder.readMessage(Buffer.alloc(32));
    expect(noiseCode(() => responder.writeMessage())).toBe("INVALID_KEY");
  });

  it("checks the keys a pattern needs when it is set up", () => {
    const keys = generateKeyPair();
    const create = (options: Partial<HandshakeOptions>) => () =>
      new HandshakeState({ protocolName: PRODUCTION, initiator: true, ...options });
    expect(noiseCode(create({ remoteStaticPublicKey: keys.publicKey }))).toBe("INVALID_KEY");
    expect(noiseCode(create({ localStaticPrivateKey: keys.privateKey }))).toBe("INVALID_KEY");
    expect(noiseCode(create({ localStaticPrivateKey: keys.privateKey, remoteStaticPublicKey: Buffer.alloc(31) }))).toBe(
      "INVALID_KEY",
    );
    expect(
      noiseCode(
        () =>
          new HandshakeState({
            protocolName: "Noise_XX_25519_AESGCM_SHA256",
            initiator: true,
            localStaticPrivateKey: keys.privateKey,
            remoteStaticPublicKey: keys.publicKey,
          }),
      ),
    ).toBe("INVALID_KEY");
    expect(
      noiseCode(
        () =>
          new HandshakeState({
            protocolName: "Noise_NN_25519_AESGCM_SHA256",
            initiator: true,
            localStaticPrivateKey: keys.privateKey,
          }),
      ),
    ).toBe("INVALID_KEY");
    expect(noiseCode(() => new HandshakeState({ protocolName: "Noise_XXpsk3_25519_AESGCM_SHA256", initiator: true }))).toBe(
      "UNSUPPORTED_PROTOCOL",
    );
  });

  it("uses a fresh ephemeral key per handshake", () => {
    const first = ikPair().initiator.writeMessage().subarray(0, 32);
    const second = ikPair().initiator.writeMessage().subarray(0, 32);
    expect(first.equals(second)).toBe(false);
  });
});
