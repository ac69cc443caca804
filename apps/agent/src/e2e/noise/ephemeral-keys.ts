import { generateKeyPair as generateKeyPairAsync } from "node:crypto";
import { generateKeyPair, keyPairFromKeyObject, type RawKeyPair } from "./dh25519.js";

/** Where a handshake takes its ephemeral key pair from. Each pair is handed out once. */
export interface EphemeralKeySource {
  take(): RawKeyPair;
}

/** Fresh keys made on the spot, the spec's GENERATE_KEYPAIR. */
export const freshEphemeralKeys: EphemeralKeySource = { take: generateKeyPair };

/**
 * A few ephemeral key pairs made ahead, on libuv's thread pool, so a stream's handshake does not
 * wait for key generation on the event loop. Each pair leaves the pool once and is never put back
 * (reusing an ephemeral key would undo the handshake's forward secrecy); an empty pool makes one
 * on the spot, so a burst of streams is never refused, only not sped up.
 */
export class EphemeralKeyPool implements EphemeralKeySource {
  readonly #ready: RawKeyPair[] = [];
  #making = 0;

  constructor(private readonly size: number) {}

  take(): RawKeyPair {
    const pair = this.#ready.pop() ?? generateKeyPair();
    this.#refill();
    return pair;
  }

  #refill(): void {
    while (this.#ready.length + this.#making < this.size) {
      this.#making += 1;
      generateKeyPairAsync("x25519", {}, (error, _publicKey, privateKey) => {
        this.#making -= 1;
        // A failed background generation only leaves the pool short; take() makes one then.
        if (error === null) this.#ready.push(keyPairFromKeyObject(privateKey));
      });
    }
  }
}
