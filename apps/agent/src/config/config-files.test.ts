import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AgentIdentity, readIdentity, writeIdentity } from "./identity.js";
import { getConfigPaths, resolveConfigDir } from "./paths.js";
import { readState, writeState } from "./state.js";

const identity: AgentIdentity = {
  hubUrl: "http://127.0.0.1:3001",
  agentId: "5f0c6c1e-8a59-4c52-9d7e-3f1f0e2b7a11",
  token: "a".repeat(64),
  tokenExpiresAt: "2030-01-01T00:00:00.000Z",
  workspace: { id: "0b7e4c55-2d1a-4a5e-8f7b-6a0d2c9e1f00", name: "acme" },
  label: "server",
};

let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "pc-config-"));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("resolveConfigDir", () => {
  it("prefers --config, then CONNECT_HOME, then ~/.private-connect", () => {
    expect(resolveConfigDir({ flag: "/a", connectHome: "/b" })).toBe("/a");
    expect(resolveConfigDir({ connectHome: "/b" })).toBe("/b");
    expect(resolveConfigDir({})).toBe(join(homedir(), ".private-connect"));
  });

  it("makes a relative directory absolute, so a detached agent finds the same files", () => {
    expect(resolveConfigDir({ flag: "rel/dir" })).toBe(resolve("rel/dir"));
  });
});

describe("identity.json", () => {
  it("round-trips and is private to the user, in a private directory it creates", async () => {
    const paths = getConfigPaths(join(base, "home"));
    await writeIdentity(paths.identity, identity);
    expect(await readIdentity(paths.identity)).toEqual(identity);
    expect((await stat(paths.identity)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
  });

  it("is undefined when it does not exist yet", async () => {
    expect(await readIdentity(join(base, "identity.json"))).toBeUndefined();
  });

  it("names a corrupt file and leaves it untouched", async () => {
    const path = join(base, "identity.json");
    await writeFile(path, '{"hubUrl": "http://127.0.0.1:3001", ');
    await expect(readIdentity(path)).rejects.toThrow(`${path} is not valid JSON: fix or remove it (it was left untouched)`);
    expect(await readFile(path, "utf8")).toBe('{"hubUrl": "http://127.0.0.1:3001", ');
  });

  it("names the missing field of a file with the wrong shape", async () => {
    const path = join(base, "identity.json");
    const { token: _token, ...withoutToken } = identity;
    await writeFile(path, JSON.stringify(withoutToken));
    await expect(readIdentity(path)).rejects.toThrow(`${path} has an unexpected shape at token`);
  });
});

describe("state.json", () => {
  it("starts empty and round-trips exposures and reaches", async () => {
    const path = join(base, "state.json");
    expect(await readState(path)).toEqual({ exposures: [], reaches: [] });
    const state = {
      exposures: [{ name: "prod-db", host: "localhost", port: 5432 }],
      reaches: [
        { service: "cache", host: "127.0.0.1", port: 16379 },
        { service: "shared-api", from: "partner", host: "127.0.0.1", port: 18080 },
      ],
    };
    await writeState(path, state);
    expect(await readState(path)).toEqual(state);
  });

  it("replaces the file whole, leaving no temporary file behind", async () => {
    const path = join(base, "state.json");
    await writeState(path, { exposures: [{ name: "a", host: "localhost", port: 1 }], reaches: [] });
    await writeState(path, { exposures: [{ name: "b", host: "localhost", port: 2 }], reaches: [] });
    expect(await readState(path)).toEqual({ exposures: [{ name: "b", host: "localhost", port: 2 }], reaches: [] });
    expect(await readdir(base)).toEqual(["state.json"]);
  });

  it("refuses a corrupt state file instead of starting over", async () => {
    const path = join(base, "state.json");
    await writeFile(path, "not json");
    await expect(readState(path)).rejects.toThrow(`${path} is not valid JSON`);
    expect(await readFile(path, "utf8")).toBe("not json");
  });

  it("refuses a port out of range", async () => {
    const path = join(base, "state.json");
    await writeFile(path, JSON.stringify({ exposures: [{ name: "a", host: "localhost", port: 70000 }], reaches: [] }));
    await expect(readState(path)).rejects.toThrow(`${path} has an unexpected shape at exposures.0.port`);
  });
});
