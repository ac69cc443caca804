import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FRONT_END_SECRET_FILE, loadFrontEndSecret, loadSecrets } from "./secrets.js";

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pc-secrets-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("hub secrets", () => {
  it("generates them once for the embedded default, private to the user, and keeps them across restarts", async () => {
    const dir = await dataDir();
    const first = await loadSecrets({}, dir);
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.encryptionKey.length).toBe(32);
    expect((await stat(join(dir, "secrets.json"))).mode & 0o777).toBe(0o600);
    const again = await loadSecrets({}, dir);
    expect(again.jwtSecret).toBe(first.jwtSecret);
    expect(again.encryptionKey.equals(first.encryptionKey)).toBe(true);
  });

  it("prefers the environment", async () => {
    const dir = await dataDir();
    const secrets = await loadSecrets({ JWT_SECRET: "j".repeat(40), ENCRYPTION_KEY: "ab".repeat(32) }, dir);
    expect(secrets.jwtSecret).toBe("j".repeat(40));
    expect(secrets.encryptionKey.toString("hex")).toBe("ab".repeat(32));
  });

  it("refuses a damaged secrets file instead of silently replacing it", async () => {
    const dir = await dataDir();
    await writeFile(join(dir, "secrets.json"), "{ not json");
    await expect(loadSecrets({}, dir)).rejects.toThrow(/damaged/);
    await writeFile(join(dir, "secrets.json"), JSON.stringify({ jwtSecret: "short", encryptionKey: "zz" }));
    await expect(loadSecrets({}, dir)).rejects.toThrow(/damaged/);
  });

  it("keeps the dashboard's secret in a file of its own, private to the user, the same across restarts", async () => {
    const dir = await dataDir();
    const first = await loadFrontEndSecret({}, dir);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect((await stat(join(dir, FRONT_END_SECRET_FILE))).mode & 0o777).toBe(0o600);
    expect(await loadFrontEndSecret({}, dir)).toBe(first);
    // Two data directories never share one: nothing about it is predictable.
    expect(await loadFrontEndSecret({}, await dataDir())).not.toBe(first);
    expect(await loadFrontEndSecret({ FRONT_END_SECRET: "x".repeat(40) }, dir)).toBe("x".repeat(40));
  });

  it("stops on a damaged front-end secret file with what to do", async () => {
    const dir = await dataDir();
    await writeFile(join(dir, FRONT_END_SECRET_FILE), "short\n", { mode: 0o600 });
    await expect(loadFrontEndSecret({}, dir)).rejects.toThrow(/damaged: delete it/);
  });
});
