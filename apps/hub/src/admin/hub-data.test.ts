import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readHubEnv } from "../config/env.js";
import { openHubDatabase } from "../hub.js";
import { describeMissingHubData, hasHubData } from "./hub-data.js";

const dirs: string[] = [];
async function makeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pc-hub-data-"));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("hasHubData", () => {
  it("is false where no hub has opened its database: missing, empty, or only a lock and secrets", async () => {
    const root = await makeDir();
    expect(await hasHubData(join(root, "missing"))).toBe(false);
    expect(await hasHubData(root)).toBe(false);
    await writeFile(join(root, "hub.pid"), "1\n");
    await writeFile(join(root, "secrets.json"), "{}\n");
    await mkdir(join(root, "pglite"));
    expect(await hasHubData(root)).toBe(false);
  });

  it("is true once the hub's own openHubDatabase has made the embedded database there", { timeout: 60_000 }, async () => {
    const dataDir = join(await makeDir(), "data");
    const db = await openHubDatabase(readHubEnv({}), dataDir);
    await db.close();
    expect(await hasHubData(dataDir)).toBe(true);
  });
});

describe("describeMissingHubData", () => {
  it("names the absolute path it looked at, --data and DATABASE_URL, and --init only where it applies", () => {
    const relativeDir = relative(process.cwd(), join(tmpdir(), "elsewhere", ".data"));
    const message = describeMissingHubData(relativeDir, { canInit: true });
    expect(message).toContain(`No hub data in ${join(tmpdir(), "elsewhere", ".data")}:`);
    expect(message).toContain("pass --data DIR");
    expect(message).toContain("DATABASE_URL");
    expect(message).toContain("add --init");
    expect(describeMissingHubData(relativeDir, { canInit: false })).not.toContain("--init");
  });
});
