import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AgentIdentity, writeIdentity } from "../config/identity.js";
import { type ConfigPaths, getConfigPaths } from "../config/paths.js";
import { createControlClient } from "../daemon/control-client.js";
import { type DaemonResult, runDaemon } from "../daemon/run-daemon.js";
import type { DoctorCheck } from "../doctor/check.js";
import { captureOutput } from "../test-support/capture-output.js";
import { type FakeHubCall, type FakeHubServer, startFakeHubServer } from "../test-support/fake-hub-server.js";
import { FakeTunnel } from "../test-support/fake-tunnel.js";
import { resolvedService } from "../test-support/resolved-service.js";
import Doctor from "./doctor.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const AGENT_ID = "00000000-0000-4000-8000-00000000000a";
const WORKSPACE = { id: "00000000-0000-4000-8000-000000000001", name: "acme" };

/** Far enough ahead that no rotation warning shows, whenever the test runs. */
const EXPIRES_AT = new Date(Date.now() + 60 * 24 * 60 * 60 * 1000).toISOString();

/** The hub as far as doctor and the daemon ask it: /healthz, agents.me, expose and resolve. */
function answerHub(call: FakeHubCall) {
  if (call.procedure === "/healthz") return { data: { status: "ok" } };
  if (call.procedure === "agents.me") {
    return {
      data: {
        agentId: AGENT_ID,
        label: "laptop",
        clientType: "cli",
        tokenExpiresAt: EXPIRES_AT,
        workspace: WORKSPACE,
        isProvisioned: false,
        isRotationPending: false,
        recentIpChanges: [],
        registeredAt: new Date().toISOString(),
        tokenMaxExpiresAt: new Date(Date.now() + 365 * 24 * 60 * 60 * 1000).toISOString(),
      },
    };
  }
  if (call.procedure === "services.expose") {
    const input = call.input as { name: string; targetHost: string; targetPort: number };
    return { data: { id: "00000000-0000-4000-8000-000000000103", ...input, agentId: AGENT_ID } };
  }
  if (call.procedure === "services.resolve") return { data: resolvedService((call.input as { name: string }).name) };
  if (call.procedure === "agents.setE2eKey") return { data: { isRecorded: true } };
  return undefined;
}

let dir: string;
let paths: ConfigPaths;
let hub: FakeHubServer;
let target: Server;
let done: Promise<DaemonResult>;

beforeEach(async () => {
  // mkdtemp makes the directory 0700, as connect up does.
  dir = await mkdtemp(join(tmpdir(), "pc-doctor-"));
  paths = getConfigPaths(dir);
  hub = await startFakeHubServer(answerHub);
  target = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  const identity: AgentIdentity = {
    hubUrl: hub.url,
    agentId: AGENT_ID,
    token: "a".repeat(64),
    tokenExpiresAt: EXPIRES_AT,
    workspace: WORKSPACE,
    label: "laptop",
  };
  await writeIdentity(paths.identity, identity);
  done = runDaemon({
    paths,
    identity,
    isInsecureAllowed: false,
    isHandlingSignals: false,
    log: () => {},
    createTunnel: (options) => new FakeTunnel(options),
  });
  const control = createControlClient(paths.socket);
  let isUp = false;
  for (let attempt = 0; attempt < 250 && !isUp; attempt += 1) {
    isUp = await control.request("status", {}).then(
      () => true,
      () => false,
    );
    if (!isUp) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(isUp).toBe(true);
  await control.request("expose", { name: "cache", host: "127.0.0.1", port: (target.address() as AddressInfo).port });
  await control.request("reach", { service: "cache" });
});

afterEach(async () => {
  await createControlClient(paths.socket).request("shutdown", {});
  await done;
  await hub.close();
  await new Promise((resolve) => target.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("connect doctor", () => {
  it("exits 0 with every check passed when agent, hub, token, target and reach port are all fine", async () => {
    const result = await captureOutput(() => Doctor.run(["--config", dir], ROOT));
    const lines = result.stdout.trimEnd().split("\n");
    expect(result.exitCode, result.stdout).toBe(0);
    const checkLines = lines.slice(0, -2);
    expect(checkLines.map((line) => line.split(/\s{2,}/)[0])).toEqual([
      "[ ok ] config",
      "[ ok ] identity",
      "[ ok ] agent",
      "[ ok ] hub url",
      "[ ok ] dns",
      "[ ok ] tcp",
      "[ ok ] tls",
      "[ ok ] healthz",
      "[ ok ] clock",
      "[ ok ] token",
      "[ ok ] protocol",
      "[ ok ] expose cache",
      "[ ok ] reach cache",
    ]);
    expect(lines.at(-1)).toBe("All 13 checks passed.");
    // No colour codes when the output is not a terminal.
    expect(result.stdout).not.toContain("\u001b[");
  });

  it("exits 1 and lists the failing check with its fix under --json when an exposure's target is down", async () => {
    await new Promise((resolve) => target.close(resolve));
    const result = await captureOutput(() => Doctor.run(["--config", dir, "--json"], ROOT));
    expect(result.exitCode).toBe(1);
    const checks = JSON.parse(result.stdout) as DoctorCheck[];
    expect(checks.filter((check) => check.status !== "pass")).toEqual([
      expect.objectContaining({
        name: "expose cache",
        status: "fail",
        fix: expect.stringContaining("connect expose HOST:PORT --name cache"),
      }),
    ]);
    // Restarted listening for afterEach's close.
    target = createServer();
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  });
});
