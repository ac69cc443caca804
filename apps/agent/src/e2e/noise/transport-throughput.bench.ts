import { randomBytes } from "node:crypto";
import { bench, describe } from "vitest";
import { aesGcm, type CipherFunction, chaChaPoly } from "./cipher-functions.js";
import { CipherState } from "./cipher-state.js";
import { MAX_TRANSPORT_PLAINTEXT_LENGTH } from "./limits.js";

/**
 * Throughput of transport records at the largest size a 64 KiB relay frame carries (65519
 * plaintext bytes). Not a test: run it by hand with
 *   npx vitest bench --run --project unit apps/agent/src/e2e/noise
 * and read MB/s as hz * 65519 / 1e6.
 */
const plaintext = randomBytes(MAX_TRANSPORT_PLAINTEXT_LENGTH);

function sealer(cipher: CipherFunction): CipherState {
  return new CipherState(cipher, randomBytes(32));
}

describe.each([aesGcm, chaChaPoly])("$name records of 65519 bytes", (cipher) => {
  const sending = sealer(cipher);
  bench("seal", () => {
    sending.seal(plaintext);
  });

  // Opening needs records in nonce order; a pool sealed up front is replayed into fresh
  // receivers, one per pass over the pool, so every open is a real, successful one.
  const key = randomBytes(32);
  const poolSender = new CipherState(cipher, key);
  const pool = Array.from({ length: 256 }, () => poolSender.seal(plaintext));
  let receiver = new CipherState(cipher, key);
  let next = 0;
  bench("open", () => {
    if (next === pool.length) {
      receiver = new CipherState(cipher, key);
      next = 0;
    }
    const record = pool[next];
    next += 1;
    if (record !== undefined) receiver.open(record.ciphertext, record.tag);
  });
});
