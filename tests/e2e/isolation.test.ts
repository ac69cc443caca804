// Workspace isolation ("outsider" tests) and the bad-input table: every mistake a user can make
// gets one line that says what to do next, and a non-zero exit code.

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { statusExposes } from "../support/json.ts";
import { findFreePort, roundTrip, startEchoServer, type TestServer } from "../support/net.ts";
import {
  type Agent,
  type CommandResult,
  connect,
  createWorkspace,
  errorLines,
  expectSuccess,
  type Hub,
  isAlive,
  makeTempDir,
  parseJsonOutput,
  readAgentPid,
  startAgent,
  startHub,
} from "../support/processes.ts";

let hub: Hub;
let keyA: string;
let serverA: Agent;
let laptopA: Agent;
let agentB: Agent;
let echo: TestServer;
/** B's `reach prod-db` while prod-db existed nowhere: the reference answer. */
let beforeItExisted: CommandResult;

beforeAll(async () => {
  hub = await startHub();
  const a = await createWorkspace(hub, "acme", "ops@acme.test");
  const b = await createWorkspace(hub, "globex", "ops@globex.test");
  keyA = a.apiKey;
  [serverA, laptopA, agentB] = await Promise.all([
    startAgent({ hub, apiKey: a.apiKey, label: "server" }),
    startAgent({ hub, apiKey: a.apiKey, label: "laptop" }),
    startAgent({ hub, apiKey: b.apiKey, label: "outsider" }),
  ]);
  echo = await startEchoServer();
  beforeItExisted = await agentB.run(["reach", "prod-db"]);
  expectSuccess(await serverA.run(["expose", echo.address, "--name", "prod-db"]));
});

/** Non-zero exit, exactly one line on stderr, no stack trace; returns that line. */
function expectOneLineError(result: CommandResult): string {
  const context = `\`${result.command}\`\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.timedOut, `timed out: ${context}`).toBe(false);
  expect(result.code, context).not.toBe(0);
  expect(result.code, context).not.toBeNull();
  const lines = errorLines(result);
  expect(lines, context).toHaveLength(1);
  expect(lines[0], context).not.toMatch(/^\s+at /);
  return lines[0] ?? "";
}

describe("workspace isolation", () => {
  it("the service is real: its own workspace reaches it", async () => {
    const reached = parseJsonOutput<{ port: number }>(expectSuccess(await laptopA.run(["reach", "prod-db", "--json"])));
    const payload = randomBytes(1024);
    expect(await roundTrip(reached.port, payload)).toEqual(payload);
    expectSuccess(await laptopA.run(["reach", "--stop", "prod-db"]));
  });

  it("another workspace gets `Service not found`, exactly as for a name that exists nowhere", async () => {
    const outsider = await agentB.run(["reach", "prod-db"]);
    const line = expectOneLineError(outsider);
    expect(line).toContain("Service not found");
    // Same name, before and after it existed in workspace A: byte for byte the same answer.
    expect(outsider.stderr).toBe(beforeItExisted.stderr);
    expect(outsider.stdout).toBe(beforeItExisted.stdout);
    expect(outsider.code).toBe(beforeItExisted.code);

    // And the same as a name that never existed anywhere, up to the name itself.
    const ghost = await agentB.run(["reach", "ghost-db"]);
    expectOneLineError(ghost);
    expect(ghost.stderr.replaceAll("ghost-db", "NAME")).toBe(outsider.stderr.replaceAll("prod-db", "NAME"));
    expect(ghost.code).toBe(outsider.code);

    // With --json too: the denial reveals nothing more.
    const outsiderJson = await agentB.run(["reach", "prod-db", "--json"]);
    const ghostJson = await agentB.run(["reach", "ghost-db", "--json"]);
    expect(outsiderJson.code).not.toBe(0);
    expect(outsiderJson.stderr.replaceAll("prod-db", "NAME")).toBe(ghostJson.stderr.replaceAll("ghost-db", "NAME"));
    expect(outsiderJson.stdout.replaceAll("prod-db", "NAME")).toBe(ghostJson.stdout.replaceAll("ghost-db", "NAME"));
  });

  it("another workspace cannot take over the name either: exposing prod-db in B stays B's own", async () => {
    const echoB = await startEchoServer();
    expectSuccess(await agentB.run(["expose", echoB.address, "--name", "prod-db"]));
    // A's laptop still reaches A's prod-db (A's echo server), B's exposure is invisible to A.
    const reached = parseJsonOutput<{ port: number }>(expectSuccess(await laptopA.run(["reach", "prod-db", "--json"])));
    const payload = randomBytes(512);
    expect(await roundTrip(reached.port, payload)).toEqual(payload);
    expect(echoB.connections, "A's reach landed on B's service").toBe(0);
    expectSuccess(await laptopA.run(["reach", "--stop", "prod-db"]));
    expectSuccess(await agentB.run(["expose", "--remove", "prod-db"]));
    await echoB.close();
  });
});

describe("config directory", () => {
  it("CONNECT_HOME alone finds the same agent as --config", async () => {
    const viaEnv = parseJsonOutput(expectSuccess(await serverA.run(["status", "--json"], { configFlag: false })));
    expect(statusExposes(viaEnv, "prod-db"), JSON.stringify(viaEnv)).toBe(true);
  });
});

describe("bad input: one line that says what to do next, non-zero exit", () => {
  it.each([
    ["malformed HOST:PORT (port not a number)", ["expose", "127.0.0.1:notaport", "--name", "bad-1"]],
    ["malformed HOST:PORT (port out of range)", ["expose", "127.0.0.1:70000", "--name", "bad-2"]],
    ["malformed HOST:PORT (no port)", ["expose", "just-a-host", "--name", "bad-3"]],
  ])("%s", async (_label, args) => {
    const line = expectOneLineError(await serverA.run(args));
    expect(line).toMatch(/HOST:PORT|port/i);
  });

  it("a local port already taken", async () => {
    const taken = await startEchoServer();
    const line = expectOneLineError(await laptopA.run(["reach", "prod-db", "--port", String(taken.port)]));
    expect(line).toMatch(new RegExp(`${taken.port}|in use|taken`, "i"));
    await taken.close();
  });

  it("a duplicate service name from another agent of the workspace", async () => {
    const line = expectOneLineError(await laptopA.run(["expose", echo.address, "--name", "prod-db"]));
    expect(line).toMatch(/prod-db|already|exists|taken/i);
    // The original exposure is untouched.
    const reached = parseJsonOutput<{ port: number }>(expectSuccess(await laptopA.run(["reach", "prod-db", "--json"])));
    expect(await roundTrip(reached.port, Buffer.from("x"))).toEqual(Buffer.from("x"));
    expectSuccess(await laptopA.run(["reach", "--stop", "prod-db"]));
  });

  it("an unreachable hub URL", async () => {
    const closedPort = await findFreePort();
    const configDir = join(await makeTempDir("unreachable"), "config");
    const result = await connect(
      ["up", "--hub", `http://127.0.0.1:${closedPort}`, "--api-key", keyA, "--label", "lost", "--detach"],
      { configDir, timeoutMs: 45_000 },
    );
    expect(expectOneLineError(result)).toMatch(/hub|reach|connect/i);
    expectNoAgentLeft(configDir);
  });

  it("a wrong API key", async () => {
    const configDir = join(await makeTempDir("wrong-key"), "config");
    const wrongKey = `pc_${randomBytes(32).toString("hex")}`;
    const result = await connect(["up", "--hub", hub.url, "--api-key", wrongKey, "--label", "intruder", "--detach"], {
      configDir,
      timeoutMs: 45_000,
    });
    expect(expectOneLineError(result)).toMatch(/key/i);
    expect(result.stderr).not.toContain(wrongKey);
    expectNoAgentLeft(configDir);
  });

  it.each([["http://hub.invalid:3001"], ["ws://hub.invalid:3001"]])("an insecure non-loopback hub (%s)", async (hubUrl) => {
    // `.invalid` never resolves: even an agent that wrongly tried to connect sends nothing anywhere.
    const configDir = join(await makeTempDir("insecure"), "config");
    const result = await connect(["up", "--hub", hubUrl, "--api-key", keyA, "--label", "insecure", "--detach"], {
      configDir,
      timeoutMs: 30_000,
    });
    expect(expectOneLineError(result)).toMatch(/CONNECT_ALLOW_INSECURE|https/);
    expectNoAgentLeft(configDir);
  });

  it("expose, reach and status without a running agent say so and suggest `connect up`", async () => {
    const configDir = join(await makeTempDir("no-agent"), "config");
    for (const args of [
      ["expose", echo.address, "--name", "x"],
      ["reach", "prod-db"],
    ]) {
      expect(expectOneLineError(await connect(args, { configDir }))).toContain("connect up");
    }
    // status may exit 0 (it did report a state), but it must say the agent is not running.
    const status = await connect(["status"], { configDir });
    expect(`${status.stdout}\n${status.stderr}`).toContain("connect up");
  });

  it("the hub survives garbage on /relay and keeps serving everyone else", async () => {
    const wsUrl = `${hub.url.replace(/^http/, "ws")}/relay`;
    for (let i = 0; i < 3; i += 1) {
      await new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(wsUrl, { handshakeTimeout: 5_000 });
        const timer = setTimeout(() => {
          ws.terminate();
          reject(new Error("the hub kept a garbage-sending connection open for 10 s"));
        }, 10_000);
        ws.on("open", () => ws.send(randomBytes(300 + i * 70_000)));
        ws.on("error", () => {});
        ws.on("close", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    expect(hub.process.exitCode).toBeNull();
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    const reached = parseJsonOutput<{ port: number }>(expectSuccess(await laptopA.run(["reach", "prod-db", "--json"])));
    expect(await roundTrip(reached.port, Buffer.from("ok"))).toEqual(Buffer.from("ok"));
    expectSuccess(await laptopA.run(["reach", "--stop", "prod-db"]));
  });
});

function expectNoAgentLeft(configDir: string): void {
  const pid = readAgentPid(configDir);
  expect(pid === null || !isAlive(pid), `a failed \`connect up\` left agent ${pid} running`).toBe(true);
}
