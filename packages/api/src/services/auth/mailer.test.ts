import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileMailer, maskEmailAddress } from "./mailer.js";

const TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCd1";
const URL_WITH_TOKEN = `http://127.0.0.1:3001/auth/verify?token=${TOKEN}`;

describe("createFileMailer (the embedded default without SMTP)", () => {
  let dir = "";
  let lines: { fields: Record<string, unknown>; message: string }[] = [];
  const log = { info: (fields: Record<string, unknown>, message: string) => void lines.push({ fields, message }) };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pc-mailer-"));
    lines = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("appends each link with its time and address to a 0600 file, and logs only where it went", async () => {
    const path = join(dir, "sign-in-links.log");
    const mailer = createFileMailer(path, log);
    await mailer.sendMagicLink("alice@example.com", URL_WITH_TOKEN);
    await mailer.sendMagicLink("bob@example.org", "http://127.0.0.1:3001/auth/verify?token=second");

    const written = (await readFile(path, "utf8")).trimEnd().split("\n");
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z alice@example\.com http:\/\/127\.0\.0\.1:3001\/auth\/verify\?token=/,
    );
    expect(written[0]?.endsWith(TOKEN)).toBe(true);
    expect(written[1]).toContain("bob@example.org");
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    expect(lines.map((line) => line.message)).toEqual([
      `sign-in link for a***@example.com written to ${path} (SMTP_URL is not set, so it is not emailed)`,
      `sign-in link for b***@example.org written to ${path} (SMTP_URL is not set, so it is not emailed)`,
    ]);
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain("second");
    expect(logged).not.toContain("alice@");
  });

  it("tightens a file someone loosened to 0600 before writing a credential into it", async () => {
    const path = join(dir, "sign-in-links.log");
    await writeFile(path, "");
    await chmod(path, 0o644);
    await createFileMailer(path, log).sendMagicLink("alice@example.com", URL_WITH_TOKEN);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("refuses to follow a symlink planted at the path", async () => {
    const elsewhere = join(dir, "elsewhere.txt");
    await writeFile(elsewhere, "");
    const path = join(dir, "sign-in-links.log");
    await symlink(elsewhere, path);
    await expect(createFileMailer(path, log).sendMagicLink("alice@example.com", URL_WITH_TOKEN)).rejects.toThrow(/ELOOP/);
    expect(await readFile(elsewhere, "utf8")).toBe("");
    expect(lines).toEqual([]);
  });

  it("masks the local part of an address", () => {
    expect(maskEmailAddress("alice@example.com")).toBe("a***@example.com");
    expect(maskEmailAddress("a@b.c")).toBe("a***@b.c");
    expect(maskEmailAddress("no-at-sign")).toBe("***");
    expect(maskEmailAddress("@example.com")).toBe("***");
  });
});
