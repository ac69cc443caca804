import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentIdentity } from "../config/identity.js";
import { type ConfigPaths, getConfigPaths } from "../config/paths.js";
import type { HubClient } from "../sdk/hub-client.js";
import { FakeTunnel } from "../test-support/fake-tunnel.js";
import { createControlClient } from "./control-client.js";
import { type DaemonResult, runDaemon } from "./run-daemon.js";

const identity: AgentIdentity = {
  hubUrl: "http://127.0.0.1:3001",
  agentId: "agent-1",
  token: "t".repeat(64),
  tokenExpiresAt: "2030-01-01T00:00:00.000Z",
  workspace: { id: "ws-1", name: "acme" },
  label: "server",
};

const fakeHub = {
  services: {
    resolve: {
      query: async ({ name }: { name: string }) => ({
        name,
        agent: { id: "agent-1", label: "server", workspaceId: "ws-1" },
        e2e: { policy: "preferred", publicKey: null },
      }),
    },
    expose: {
      mutate: async (input: { name: string; targetHost: string; targetPort: number }) => ({
        id: "s",
        name: input.name,
        targetHost: input.targetHost,
        targetPort: input.targetPort,
        agentId: "agent-1",
      }),
    },
    unexpose: { mutate: async () => ({ removed: true }) },
  },
  agents: { setE2eKey: { mutate: async () => ({ isRecorded: true }) } },
} as unknown as HubClient;

let dir: string;
let paths: ConfigPaths;
let tunnels: FakeTunnel[];
let logs: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-daemon-"));
  paths = getConfigPaths(dir);
  tunnels = [];
  logs = [];
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startDaemon(): Promise<{ done: Promise<DaemonResult> }> {
  const done = runDaemon({
    paths,
    identity,
    isInsecureAllowed: false,
    isHandlingSignals: false,
    log: (line) => logs.push(line),
    hubClient: fakeHub,
    createTunnel: (options) => {
      const tunnel = new FakeTunnel(options);
      tunnels.push(tunnel);
      return tunnel;
    },
  });
  // Resolves when the control socket answers (or runDaemon failed first).
  const client = createControlClient(paths.socket);
  const deadline = Date.now() + 5000;
  const failure = done.then(
    () => "stopped" as const,
    (error: unknown) => error,
  );
  while (Date.now() < deadline) {
    const ready = await Promise.race([
      client.request("status", {}).then(
        () => "ready" as const,
        () => "retry" as const,
      ),
      failure,
    ]);
    if (ready === "ready") return { done };
    if (ready !== "retry") throw ready;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("daemon did not come up");
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

describe("runDaemon", () => {
  it("serves the control socket, saves what it is asked, and cleans up on shutdown", async () => {
    const { done } = await startDaemon();
    const client = createControlClient(paths.socket);
    await client.request("expose", { name: "prod-db", host: "localhost", port: 5432 });
    const reach = await client.request("reach", { service: "cache", host: "127.0.0.1" });

    const status = await client.request("status", {});
    expect(status).toMatchObject({
      pid: process.pid,
      configDir: dir,
      agent: { id: "agent-1", label: "server", workspace: { name: "acme" } },
      hub: { url: "http://127.0.0.1:3001", state: "connected" },
      exposures: [{ name: "prod-db", host: "localhost", port: 5432, e2e: "preferred" }],
      reaches: [{ service: "cache", host: "127.0.0.1", port: reach.port }],
      activeStreams: 0,
    });
    expect(JSON.parse(await readFile(paths.state, "utf8"))).toEqual({
      exposures: [{ name: "prod-db", host: "localhost", port: 5432, e2e: "preferred" }],
      reaches: [{ service: "cache", host: "127.0.0.1", port: reach.port }],
    });
    expect((await readFile(paths.pid, "utf8")).trim()).toBe(String(process.pid));
    // The end-to-end key was made on this first start, owner-only, and status names its public half.
    const keyFile = JSON.parse(await readFile(paths.e2eKey, "utf8"));
    expect((await stat(paths.e2eKey)).mode & 0o777).toBe(0o600);
    expect(status.e2ePublicKey).toBe(keyFile.publicKey);
    expect(keyFile.publicKey).toMatch(/^pcpk_[A-Za-z0-9_-]{43}$/);

    expect(await client.request("shutdown", {})).toEqual({ ok: true });
    expect(await done).toEqual({ exitCode: 0 });
    await expect(stat(paths.socket)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(paths.pid)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await isPortFree(reach.port)).toBe(true);
  });

  it("restores exposures and reaches, on the same ports, when started again", async () => {
    const first = await startDaemon();
    const client = createControlClient(paths.socket);
    await client.request("expose", { name: "prod-db", host: "localhost", port: 5432 });
    const reach = await client.request("reach", { service: "cache" });
    await client.request("shutdown", {});
    await first.done;

    const second = await startDaemon();
    const status = await client.request("status", {});
    expect(status.exposures).toEqual([{ name: "prod-db", host: "localhost", port: 5432, e2e: "preferred" }]);
    expect(status.reaches).toEqual([{ service: "cache", host: "127.0.0.1", port: reach.port }]);
    expect(await isPortFree(reach.port)).toBe(false);
    expect(tunnels.at(-1)?.options.resolveTarget("prod-db")).toEqual({ host: "localhost", port: 5432 });

    await client.request("stopReach", { service: "cache" });
    await client.request("unexpose", { name: "prod-db" });
    expect(JSON.parse(await readFile(paths.state, "utf8"))).toEqual({ exposures: [], reaches: [] });
    await client.request("shutdown", {});
    await second.done;
  });

  it("refuses a second agent for the same directory, naming the first one's pid", async () => {
    const { done } = await startDaemon();
    const second = runDaemon({
      paths,
      identity,
      isInsecureAllowed: false,
      isHandlingSignals: false,
      log: () => {},
      hubClient: fakeHub,
      createTunnel: (options) => new FakeTunnel(options),
    });
    await expect(second).rejects.toThrow(
      `An agent is already running for ${dir} (pid ${process.pid}): stop it with connect down`,
    );
    await createControlClient(paths.socket).request("shutdown", {});
    await done;
  });

  it("clears a socket and pid file left by an agent that died", async () => {
    // A socket path nobody listens on (connect() is refused, as for a killed agent's socket)
    // and the pid of a process that no longer exists.
    await writeFile(paths.socket, "");
    await writeFile(paths.pid, "999999\n");
    const { done } = await startDaemon();
    expect((await readFile(paths.pid, "utf8")).trim()).toBe(String(process.pid));
    await createControlClient(paths.socket).request("shutdown", {});
    await done;
  });

  it("stops on a corrupt state file and leaves it as it was", async () => {
    await writeFile(paths.state, "{ broken");
    await expect(startDaemon()).rejects.toThrow(`${paths.state} is not valid JSON: fix or remove it (it was left untouched)`);
    expect(await readFile(paths.state, "utf8")).toBe("{ broken");
    await expect(stat(paths.socket)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
