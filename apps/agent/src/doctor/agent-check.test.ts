import { spawn } from "node:child_process";
import { lstat, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConfigPaths, getConfigPaths } from "../config/paths.js";
import { createControlClient } from "../daemon/control-client.js";
import { checkAgentProcess } from "./agent-check.js";

let dir: string;
let paths: ConfigPaths;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-doctor-agent-"));
  paths = getConfigPaths(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * What an agent killed with SIGKILL leaves: its socket file, nobody listening on it, and a pid
 * file naming a process that is gone. A child listens, then kills itself before it can unlink.
 */
async function leaveStaleSocket(): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      "require('node:net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))",
      paths.socket,
    ],
    { stdio: "ignore" },
  );
  await new Promise((resolve) => child.once("exit", resolve));
  if (child.pid === undefined) throw new Error("the child did not start");
  return child.pid;
}

describe("checkAgentProcess", () => {
  it("fails a stale control socket and a dead pid, leaves both in place, and says connect up replaces them", async () => {
    const deadPid = await leaveStaleSocket();
    await writeFile(paths.pid, `${deadPid}\n`);
    const { check, status } = await checkAgentProcess(paths, createControlClient(paths.socket));
    expect(status).toBeUndefined();
    expect(check).toEqual({
      name: "agent",
      status: "fail",
      detail: `Stale control socket ${paths.socket}: the agent that made it is gone (pid ${deadPid} is not running)`,
      fix: "start the agent again: connect up (it replaces the stale socket)",
    });
    // The doctor only looks: the stale files are still there for the user to see.
    expect((await lstat(paths.socket)).isSocket()).toBe(true);
  });

  it("fails a live pid in the pid file with nothing on the socket: a stuck agent or a reused pid", async () => {
    await writeFile(paths.pid, `${process.pid}\n`);
    const { check } = await checkAgentProcess(paths, createControlClient(paths.socket));
    expect(check).toMatchObject({
      status: "fail",
      detail: `${paths.pid} names pid ${process.pid}, which is alive, but nothing answers on ${paths.socket}`,
    });
  });

  it("fails when no agent runs and says how to start one", async () => {
    const { check } = await checkAgentProcess(paths, createControlClient(paths.socket));
    expect(check).toEqual({
      name: "agent",
      status: "fail",
      detail: `No agent is running for ${dir}`,
      fix: "start it: connect up (or connect up --detach)",
    });
  });
});
