import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  addDevReaches,
  forgetDevSession,
  getDevSessionsPath,
  readDevSession,
  removeDevReaches,
  setDevEnvFile,
} from "./dev-sessions.js";

let configDir: string;
const db = { service: "prod-db", host: "127.0.0.1", port: 5432 };
const cache = { service: "cache", from: "partner", host: "127.0.0.1", port: 6379 };

beforeEach(async () => {
  configDir = await mkdtemp(join(tmpdir(), "pc-dev-sessions-"));
});

afterEach(async () => {
  await rm(configDir, { recursive: true, force: true });
});

describe("dev sessions", () => {
  it("keeps each project's reaches and env file apart, owner-only", async () => {
    await addDevReaches(configDir, "/a/pconnect.yml", [db]);
    await addDevReaches(configDir, "/b/pconnect.yml", [cache]);
    await setDevEnvFile(configDir, "/a/pconnect.yml", "/a/.env.pconnect");
    expect(await readDevSession(configDir, "/a/pconnect.yml")).toMatchObject({ reaches: [db], envFile: "/a/.env.pconnect" });
    expect(await readDevSession(configDir, "/b/pconnect.yml")).toMatchObject({ reaches: [cache] });
    expect((await stat(getDevSessionsPath(configDir))).mode & 0o777).toBe(0o600);
  });

  it("adds a reach once, removes only the ones named, and forgets an empty project", async () => {
    await addDevReaches(configDir, "/a/pconnect.yml", [db, cache]);
    await addDevReaches(configDir, "/a/pconnect.yml", [db]);
    expect((await readDevSession(configDir, "/a/pconnect.yml"))?.reaches).toEqual([cache, db]);
    await removeDevReaches(configDir, "/a/pconnect.yml", [db]);
    expect((await readDevSession(configDir, "/a/pconnect.yml"))?.reaches).toEqual([cache]);
    await removeDevReaches(configDir, "/a/pconnect.yml", [cache]);
    expect(await readDevSession(configDir, "/a/pconnect.yml")).toBeUndefined();
    expect(JSON.parse(await readFile(getDevSessionsPath(configDir), "utf8"))).toEqual({ sessions: [] });
  });

  it("forgets a project whole, leaving the others", async () => {
    await addDevReaches(configDir, "/a/pconnect.yml", [db]);
    await setDevEnvFile(configDir, "/a/pconnect.yml", "/a/.env.pconnect");
    await addDevReaches(configDir, "/b/pconnect.yml", [cache]);
    await forgetDevSession(configDir, "/a/pconnect.yml");
    expect(await readDevSession(configDir, "/a/pconnect.yml")).toBeUndefined();
    expect(await readDevSession(configDir, "/b/pconnect.yml")).toBeDefined();
  });
});
