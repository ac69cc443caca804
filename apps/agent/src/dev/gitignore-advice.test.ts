import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isListedInGitignore } from "./gitignore-advice.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-gitignore-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("isListedInGitignore", () => {
  it("is false without a .gitignore, or with one that does not list the file", async () => {
    expect(await isListedInGitignore(dir, ".env.pconnect")).toBe(false);
    await writeFile(join(dir, ".gitignore"), "node_modules\n.env\n# .env.pconnect\nsub/.env.pconnect\n");
    expect(await isListedInGitignore(dir, ".env.pconnect")).toBe(false);
  });

  it("reads the name, a leading slash and simple globs, and a later negation", async () => {
    for (const pattern of [".env.pconnect", "/.env.pconnect", ".env*", "*.pconnect", ".env.?connect"]) {
      await writeFile(join(dir, ".gitignore"), `dist\n${pattern}\n`);
      expect(await isListedInGitignore(dir, ".env.pconnect"), pattern).toBe(true);
    }
    await writeFile(join(dir, ".gitignore"), ".env*\n!.env.pconnect\n");
    expect(await isListedInGitignore(dir, ".env.pconnect")).toBe(false);
  });
});
