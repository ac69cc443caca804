import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { aesGcm, type CipherFunction, chaChaPoly } from "./cipher-functions.js";
import { CipherState } from "./cipher-state.js";
import { MAX_TRANSPORT_PLAINTEXT_LENGTH } from "./limits.js";
import { isNoiseError } from "./noise-error.js";

function pair(cipher: CipherFunction): { sender: CipherState; receiver: CipherState } {
  const key = randomBytes(32);
  return { sender: new CipherState(cipher, key), receiver: new CipherState(cipher, key) };
}

function noiseCode(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isNoiseError(error) ? error.code : `not a NoiseError: ${String(error)}`;
  }
  return undefined;
}

describe.each([chaChaPoly, aesGcm])("CipherState with $name", (cipher) => {
  it("never encrypts twice under one nonce: the same plaintext seals differently and n advances", () => {
    const { sender } = pair(cipher);
    const plaintext = Buffer.from("same bytes, twice");
    expect(sender.nonce).toBe(0n);
    const first = sender.seal(plaintext);
    expect(sender.nonce).toBe(1n);
    const second = sender.seal(plaintext);
    expect(sender.nonce).toBe(2n);
    expect(first.ciphertext.equals(second.ciphertext)).toBe(false);
    expect(first.tag.equals(second.tag)).toBe(false);
  });

  it("offers no way to set the nonce", () => {
    const { sender } = pair(cipher);
    const descriptor = Object.getOwnPropertyDescriptor(CipherState.prototype, "nonce");
    expect(descriptor?.get).toBeTypeOf("function");
    expect(descriptor?.set).toBeUndefined();
    expect(Reflect.set(sender, "nonce", 0n)).toBe(false);
    expect(Object.getOwnPropertyNames(sender)).toEqual([]);
  });

  it("opens records in order, and refuses the same record twice", () => {
    const { sender, receiver } = pair(cipher);
    const first = sender.seal(Buffer.from("one"));
    const second = sender.seal(Buffer.from("two"));
    expect(receiver.open(first.ciphertext, first.tag).toString()).toBe("one");
    expect(noiseCode(() => receiver.open(first.ciphertext, first.tag))).toBe("DECRYPTION_FAILED");
    // A failed open does not advance n: the next record in order still opens.
    expect(receiver.nonce).toBe(1n);
    expect(receiver.open(second.ciphertext, second.tag).toString()).toBe("two");
  });

  it("refuses a record with any one byte changed, in the ciphertext or the tag", () => {
    const { sender, receiver } = pair(cipher);
    const record = Buffer.concat(Object.values(sender.seal(Buffer.from("do not touch"))));
    for (let index = 0; index < record.length; index += 1) {
      const tampered = Buffer.from(record);
      tampered[index] = (tampered[index] ?? 0) ^ 0x01;
      expect(
        noiseCode(() => receiver.openRecord(tampered)),
        `byte ${index}`,
      ).toBe("DECRYPTION_FAILED");
    }
    expect(receiver.openRecord(record).toString()).toBe("do not touch");
  });

  it("binds the associated data in encryptWithAd/decryptWithAd", () => {
    const { sender, receiver } = pair(cipher);
    const message = sender.encryptWithAd(Buffer.from("ad"), Buffer.from("payload"));
    expect(noiseCode(() => receiver.decryptWithAd(Buffer.from("other ad"), message))).toBe("DECRYPTION_FAILED");
    expect(receiver.decryptWithAd(Buffer.from("ad"), message).toString()).toBe("payload");
  });

  it("seal/open and encryptWithAd/decryptWithAd with empty ad produce the same messages", () => {
    const { sender, receiver } = pair(cipher);
    const key = randomBytes(32);
    const recordSender = new CipherState(cipher, key);
    const specSender = new CipherState(cipher, key);
    const { ciphertext, tag } = recordSender.seal(Buffer.from("same"));
    expect(Buffer.concat([ciphertext, tag]).equals(specSender.encryptWithAd(Buffer.alloc(0), Buffer.from("same")))).toBe(true);
    // Views into one larger frame buffer open without copying into a record first.
    const frame = Buffer.concat([Buffer.from("header"), ...Object.values(sender.seal(Buffer.from("framed")))]);
    expect(receiver.open(frame.subarray(6, -16), frame.subarray(-16)).toString()).toBe("framed");
  });

  it("seals an empty plaintext (the end-of-data record) as a bare tag", () => {
    const { sender, receiver } = pair(cipher);
    const { ciphertext, tag } = sender.seal(Buffer.alloc(0));
    expect(ciphertext.length).toBe(0);
    expect(tag.length).toBe(16);
    expect(receiver.open(ciphertext, tag).length).toBe(0);
  });

  it("rekeys in step on both sides, and not in step fails", () => {
    const { sender, receiver } = pair(cipher);
    const key = randomBytes(32);
    const notRekeyed = new CipherState(cipher, key);
    const rekeyed = new CipherState(cipher, key);
    rekeyed.rekey();
    expect(rekeyed.seal(Buffer.from("x")).ciphertext.equals(notRekeyed.seal(Buffer.from("x")).ciphertext)).toBe(false);

    sender.rekey();
    receiver.rekey();
    const record = sender.seal(Buffer.from("after rekey"));
    expect(receiver.open(record.ciphertext, record.tag).toString()).toBe("after rekey");
    // The nonce carries on across a rekey.
    expect(sender.nonce).toBe(1n);

    sender.rekey();
    const late = sender.seal(Buffer.from("only one side rekeyed"));
    expect(noiseCode(() => receiver.open(late.ciphertext, late.tag))).toBe("DECRYPTION_FAILED");
  });

  it("carries at most 65519 plaintext bytes per message (65535 with the tag)", () => {
    const { sender, receiver } = pair(cipher);
    const largest = sender.seal(randomBytes(MAX_TRANSPORT_PLAINTEXT_LENGTH));
    expect(largest.ciphertext.length + largest.tag.length).toBe(65_535);
    expect(receiver.open(largest.ciphertext, largest.tag).length).toBe(MAX_TRANSPORT_PLAINTEXT_LENGTH);
    expect(noiseCode(() => sender.seal(Buffer.alloc(MAX_TRANSPORT_PLAINTEXT_LENGTH + 1)))).toBe("MESSAGE_TOO_LARGE");
    expect(noiseCode(() => receiver.openRecord(Buffer.alloc(65_536)))).toBe("MESSAGE_TOO_LARGE");
    // A refused seal used no nonce.
    expect(sender.nonce).toBe(1n);
  });

  it("refuses malformed records and a missing key", () => {
    const { receiver } = pair(cipher);
    expect(noiseCode(() => receiver.openRecord(Buffer.alloc(15)))).toBe("MALFORMED_MESSAGE");
    expect(noiseCode(() => receiver.open(Buffer.alloc(4), Buffer.alloc(15)))).toBe("MALFORMED_MESSAGE");
    expect(noiseCode(() => receiver.decryptWithAd(Buffer.alloc(0), Buffer.alloc(3)))).toBe("MALFORMED_MESSAGE");
    expect(noiseCode(() => new CipherState(cipher, Buffer.alloc(31)))).toBe("INVALID_KEY");
    expect(noiseCode(() => new CipherState(cipher).seal(Buffer.from("x")))).toBe("WRONG_STATE");
  });

  it("passes bytes through unchanged before a key exists, as the spec says", () => {
    const empty = new CipherState(cipher);
    expect(empty.hasKey()).toBe(false);
    expect(empty.encryptWithAd(Buffer.from("h"), Buffer.from("clear")).toString()).toBe("clear");
    expect(empty.decryptWithAd(Buffer.from("h"), Buffer.from("clear")).toString()).toBe("clear");
  });
});
