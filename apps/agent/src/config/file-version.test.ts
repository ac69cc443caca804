import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileChangeWatch } from "./file-version.js";

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("FileChangeWatch", () => {
  it("reports another writer's change once, and looks at the file at most once per synchronous run", async () => {
    dir = mkdtempSync(join(tmpdir(), "pc-watch-"));
    const path = join(dir, "pins.json");
    const watch = new FileChangeWatch(path);
    expect(watch.hasChanged()).toBe(false);
    writeFileSync(path, "{}");
    // Same run: the answer already given stands (one stat per stream open, not per question).
    expect(watch.hasChanged()).toBe(false);
    await Promise.resolve();
    expect(watch.hasChanged()).toBe(true);
    await Promise.resolve();
    expect(watch.hasChanged()).toBe(false);
    // What this process wrote itself is not news.
    writeFileSync(path, '{"a":1}');
    watch.markSeen();
    await Promise.resolve();
    expect(watch.hasChanged()).toBe(false);
    rmSync(path);
    await Promise.resolve();
    expect(watch.hasChanged()).toBe(true);
  });
});
