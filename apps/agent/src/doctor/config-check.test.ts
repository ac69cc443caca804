import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConfigPaths, getConfigPaths } from "../config/paths.js";
import { checkConfigDir } from "./config-check.js";

let base: string;
let paths: ConfigPaths;
const uid = process.getuid?.();
const me = { uid, userName: "alice" };

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "pc-doctor-config-"));
  paths = getConfigPaths(join(base, "config"));
  await mkdir(paths.dir, { mode: 0o700 });
  await writeFile(paths.identity, "{}", { mode: 0o600 });
  await writeFile(paths.state, "{}", { mode: 0o600 });
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("checkConfigDir", () => {
  it("passes a 0700 directory with owner-only files", async () => {
    expect(await checkConfigDir(paths, me)).toEqual({
      name: "config",
      status: "pass",
      detail: `${paths.dir} is 0700, its files owner-only, all owned by alice`,
    });
  });

  it("fails a directory others can enter and a token file others can read, with both chmods", async () => {
    await chmod(paths.dir, 0o755);
    await chmod(paths.identity, 0o644);
    const check = await checkConfigDir(paths, me);
    expect(check).toEqual({
      name: "config",
      status: "fail",
      detail: `${paths.dir}: directory is 0755, not 0700; identity.json is 0644, readable or writable by others`,
      fix: `chmod 700 ${paths.dir} && chmod 600 ${paths.identity}`,
    });
  });

  it("fails a group-readable state file too", async () => {
    await chmod(paths.state, 0o640);
    const check = await checkConfigDir(paths, me);
    expect(check.status).toBe("fail");
    expect(check.fix).toBe(`chmod 600 ${paths.state}`);
  });

  it.runIf(uid !== undefined)("fails a directory owned by another user and says to chown it", async () => {
    const check = await checkConfigDir(paths, { uid: (uid ?? 0) + 1, userName: "alice" });
    expect(check.status).toBe("fail");
    expect(check.detail).toBe(`${paths.dir}: owned by another user: config, identity.json, state.json`);
    expect(check.fix).toBe(`sudo chown -R alice ${paths.dir}`);
  });

  it("fails a missing directory and says how to create it", async () => {
    const missing = getConfigPaths(join(base, "nowhere"));
    expect(await checkConfigDir(missing, me)).toMatchObject({
      status: "fail",
      detail: `${missing.dir} does not exist: this machine has no agent here`,
      fix: "register this machine: connect up --hub URL --api-key KEY (it creates the directory 0700)",
    });
  });
});
