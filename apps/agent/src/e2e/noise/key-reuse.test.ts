import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { dh, generateKeyPair, keyPairOf } from "./dh25519.js";
import { EphemeralKeyPool } from "./ephemeral-keys.js";
import { staticStaticSecret } from "./static-secrets.js";

describe("keys made ahead or remembered between handshakes", () => {
  it("hands each pooled ephemeral key out once, whether made ahead or on the spot", async () => {
    const pool = new EphemeralKeyPool(4);
    const seen = new Set<string>();
    for (let round = 0; round < 3; round += 1) {
      // A burst larger than the pool, then a pause in which it refills in the background.
      for (let i = 0; i < 10; i += 1) {
        const pair = pool.take();
        const hex = pair.privateKey.toString("hex");
        expect(seen.has(hex)).toBe(false);
        seen.add(hex);
        // Each pair is whole: its public half belongs to its private half.
        expect(keyPairOf(pair.privateKey).publicKey.equals(pair.publicKey)).toBe(true);
      }
      await sleep(50);
    }
    expect(seen.size).toBe(30);
  });

  it("remembers a static-static secret that equals the DH, per pair of keys", () => {
    const local = generateKeyPair();
    const peer = generateKeyPair();
    const other = generateKeyPair();
    const first = staticStaticSecret(local, peer.publicKey);
    expect(first.equals(dh(peer, local.publicKey))).toBe(true);
    expect(staticStaticSecret(local, peer.publicKey)).toBe(first);
    // Another peer, or the same peer seen from another local key, is another secret.
    expect(staticStaticSecret(local, other.publicKey).equals(first)).toBe(false);
    const secondLocal = generateKeyPair();
    expect(staticStaticSecret(secondLocal, peer.publicKey).equals(dh(peer, secondLocal.publicKey))).toBe(true);
  });

  it("keeps refusing a low-order peer key it was once given", () => {
    const local = generateKeyPair();
    const lowOrder = Buffer.alloc(32);
    expect(() => staticStaticSecret(local, lowOrder)).toThrow(/no usable shared secret/);
    expect(() => staticStaticSecret(local, lowOrder)).toThrow(/no usable shared secret/);
  });
});
