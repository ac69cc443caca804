import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV_FILE_NAME, formatEnvFile, writeEnvFile } from "./env-file.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-env-file-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("formatEnvFile", () => {
  it("writes single-quoted values, so $, # and spaces-free URLs are read back verbatim", () => {
    const text = formatEnvFile(
      [
        { service: "prod-db", name: "DATABASE_URL", value: "postgresql://app:pa$$w0rd#1@127.0.0.1:5432/app?x=$HOME" },
        { service: "cache", name: "REDIS_ADDR", value: "127.0.0.1:6379" },
      ],
      "/repo/pconnect.yml",
    );
    expect(text.split("\n")).toEqual([
      "# Written by connect dev from /repo/pconnect.yml; removed by connect dev --stop. Do not commit.",
      "DATABASE_URL='postgresql://app:pa$$w0rd#1@127.0.0.1:5432/app?x=$HOME'",
      "REDIS_ADDR='127.0.0.1:6379'",
      "",
    ]);
  });

  it("refuses a value a single-quoted line cannot carry instead of escaping it", () => {
    for (const value of ["a'b", "a\nB=evil", "a\rb", "a\u0000b"]) {
      expect(() => formatEnvFile([{ service: "s", name: "X", value }], "/repo/pconnect.yml"), JSON.stringify(value)).toThrow(
        /The value of X holds a quote or a control character/,
      );
    }
  });
});

describe("writeEnvFile", () => {
  it("creates the file owner-only and replaces an existing one atomically, mode included", async () => {
    const path = join(dir, ENV_FILE_NAME);
    await writeFile(path, "OLD=1\n", { mode: 0o644 });
    const previous = await stat(path);
    await writeEnvFile(path, "NEW='2'\n");
    const written = await stat(path);
    expect(written.mode & 0o777).toBe(0o600);
    // A rename, not a rewrite in place: a reader holding the old file never sees half of the new.
    expect(written.ino).not.toBe(previous.ino);
    expect(await readFile(path, "utf8")).toBe("NEW='2'\n");
    expect((await readdir(dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("leaves no temporary file and the old file when the write cannot happen", async () => {
    const path = join(dir, "missing-dir", ENV_FILE_NAME);
    await expect(writeEnvFile(path, "X='1'\n")).rejects.toThrow(/ENOENT/);
    expect((await readdir(dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});
