import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isConnectError } from "../errors.js";
import { publicKeyOf } from "./noise/index.js";
import { loadOrCreateStaticKey, parsePublicKeyText, readStaticKey } from "./static-key.js";

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-static-key-"));
  path = join(dir, "e2e-key.json");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("the agent's static key", () => {
  it("is made once, owner-only, and the same key comes back on every later start", async () => {
    expect(await readStaticKey(path)).toBeUndefined();
    const made = await loadOrCreateStaticKey(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(publicKeyOf(made.privateKey).equals(made.publicKey)).toBe(true);
    expect(parsePublicKeyText(made.publicKeyText).equals(made.publicKey)).toBe(true);
    const file = JSON.parse(await readFile(path, "utf8"));
    expect(file).toMatchObject({ version: 1, publicKey: made.publicKeyText });
    expect(file.privateKey).toMatch(/^pcsk_[A-Za-z0-9_-]{43}$/);

    const again = await loadOrCreateStaticKey(path);
    expect(again.privateKey.equals(made.privateKey)).toBe(true);
  });

  it("never replaces a file it cannot use: it says what to do and leaves it as it was", async () => {
    const made = await loadOrCreateStaticKey(path);
    const other = await loadOrCreateStaticKey(join(dir, "other.json"));
    const file = JSON.parse(await readFile(path, "utf8"));
    for (const broken of [
      "{not json",
      JSON.stringify({ ...file, privateKey: "pcsk_short" }),
      JSON.stringify({ ...file, publicKey: "pcpk_x" }),
      // Halves of two different keys: a hand edit gone wrong.
      JSON.stringify({ ...file, publicKey: other.publicKeyText }),
    ]) {
      await writeFile(path, broken);
      const error = await loadOrCreateStaticKey(path).catch((caught: unknown) => caught);
      expect(isConnectError(error, "CONFIG_UNREADABLE"), String(error)).toBe(true);
      expect(String((error as Error).message)).toContain(path);
      expect(await readFile(path, "utf8")).toBe(broken);
    }
    expect(made.publicKeyText).not.toBe(other.publicKeyText);
  });

  it("parses only canonical pcpk_ texts", () => {
    expect(() => parsePublicKeyText("pcpk_tooshort")).toThrow(/pcpk_ followed by 43 base64url characters/);
  });
});
