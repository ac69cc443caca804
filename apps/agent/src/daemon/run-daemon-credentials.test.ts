import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentIdentity } from "../config/identity.js";
import { type ConfigPaths, getConfigPaths } from "../config/paths.js";
import type { HubClient } from "../sdk/hub-client.js";
import { FakeTunnel } from "../test-support/fake-tunnel.js";
import { TunnelFatalError } from "../tunnel/tunnel-client.js";
import { createControlClient } from "./control-client.js";
import { readLastStop } from "./last-stop.js";
import { type DaemonOptions, type DaemonResult, runDaemon } from "./run-daemon.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const OLD = "1".repeat(64);
const NEW = "2".repeat(64);
const NOW = new Date("2030-01-10T00:00:00.000Z");

interface FakeHub {
  /** "<call>:<first character of the token>" in order. */
  calls: string[];
  ipChanges: { previousIp: string; newIp: string; at: string }[];
  clientFor(token: string): HubClient;
}

function createFakeHub(tokenExpiresAt: string): FakeHub {
  const hub: FakeHub = {
    calls: [],
    ipChanges: [],
    clientFor: (token) =>
      ({
        agents: {
          me: {
            query: async () => {
              hub.calls.push(`me:${token.slice(0, 1)}`);
              return {
                agentId: "agent-1",
                label: "server",
                clientType: "cli",
                tokenExpiresAt: token === NEW ? "2030-02-09T00:00:00.000Z" : tokenExpiresAt,
                workspace: { id: "ws-1", name: "acme" },
                isProvisioned: false,
                isRotationPending: false,
                recentIpChanges: hub.ipChanges,
              };
            },
          },
          rotateToken: {
            mutate: async () => {
              hub.calls.push(`rotate:${token.slice(0, 1)}`);
              return { token: NEW, tokenExpiresAt: "2030-02-09T00:00:00.000Z" };
            },
          },
          confirmRotation: {
            mutate: async () => {
              hub.calls.push(`confirm:${token.slice(0, 1)}`);
              return { tokenExpiresAt: "2030-02-09T00:00:00.000Z" };
            },
          },
        },
        services: {
          expose: { mutate: async () => ({}) },
          unexpose: { mutate: async () => ({ removed: true }) },
          resolve: { query: async ({ name }: { name: string }) => ({ name }) },
        },
      }) as unknown as HubClient,
  };
  return hub;
}

let dir: string;
let paths: ConfigPaths;
let tunnels: FakeTunnel[];
let logs: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-cred-"));
  paths = getConfigPaths(dir);
  tunnels = [];
  logs = [];
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function identityExpiringIn(ms: number): AgentIdentity {
  return {
    hubUrl: "http://127.0.0.1:3001",
    agentId: "agent-1",
    token: OLD,
    tokenExpiresAt: new Date(NOW.getTime() + ms).toISOString(),
    workspace: { id: "ws-1", name: "acme" },
    label: "server",
  };
}

async function startDaemon(identity: AgentIdentity, hub: FakeHub, extra: Partial<DaemonOptions> = {}) {
  const done = runDaemon({
    paths,
    identity,
    isInsecureAllowed: false,
    isHandlingSignals: false,
    log: (line) => logs.push(line),
    hubClient: hub.clientFor(identity.token),
    createHubClientForToken: (token) => hub.clientFor(token),
    now: () => NOW,
    createTunnel: (options) => {
      const tunnel = new FakeTunnel(options, 2);
      tunnels.push(tunnel);
      return tunnel;
    },
    ...extra,
  });
  const client = createControlClient(paths.socket);
  for (let attempt = 0; attempt < 250; attempt += 1) {
    const isReady = await client.request("status", {}).then(
      () => true,
      () => false,
    );
    if (isReady) return { done, client };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("daemon did not come up");
}

async function stop(started: { done: Promise<DaemonResult>; client: ReturnType<typeof createControlClient> }) {
  await started.client.request("shutdown", {});
  return started.done;
}

describe("runDaemon and the agent token", () => {
  it("rotates through the control socket without touching the live connection, and saves the new token first", async () => {
    const hub = createFakeHub(identityExpiringIn(3 * DAY_MS).tokenExpiresAt);
    const started = await startDaemon(identityExpiringIn(3 * DAY_MS), hub);
    const tunnel = tunnels[0];
    if (tunnel === undefined) throw new Error("no tunnel");
    expect((await started.client.request("status", {})).token.warning).toBe(
      "Agent token expires in 3 days: run connect up --rotate-token",
    );

    const rotated = await started.client.request("rotateToken", {});
    expect(rotated).toEqual({ tokenExpiresAt: "2030-02-09T00:00:00.000Z", isResumed: false });
    // Issued with the old token, confirmed with the new one.
    expect(hub.calls.filter((call) => !call.startsWith("me:"))).toEqual(["rotate:1", "confirm:2"]);
    const saved = JSON.parse(await readFile(paths.identity, "utf8")) as AgentIdentity;
    expect(saved).toMatchObject({ token: NEW, tokenExpiresAt: "2030-02-09T00:00:00.000Z", agentId: "agent-1" });
    expect((await stat(paths.identity)).mode & 0o777).toBe(0o600);
    expect((await readFile(paths.identity, "utf8")).includes(OLD)).toBe(false);

    // The same relay connection, still up, with its streams; the next reconnect uses the new token.
    expect(tunnels).toHaveLength(1);
    expect(tunnel.closed).toBe(false);
    expect(tunnel.tokens).toEqual([OLD, NEW]);
    const status = await started.client.request("status", {});
    expect(status).toMatchObject({ hub: { state: "connected" }, activeStreams: 2 });
    expect(status.token).toEqual({ expiresAt: "2030-02-09T00:00:00.000Z", isProvisioned: false });
    expect(logs.some((line) => line.startsWith("Rotated the agent token"))).toBe(true);
    await stop(started);
  });

  it("warns in the log and in status from seven days before expiry, and not earlier", async () => {
    const far = await startDaemon(identityExpiringIn(8 * DAY_MS), createFakeHub(identityExpiringIn(8 * DAY_MS).tokenExpiresAt));
    expect((await far.client.request("status", {})).token.warning).toBeUndefined();
    await stop(far);
    expect(logs.some((line) => line.startsWith("Warning:"))).toBe(false);

    const near = await startDaemon(identityExpiringIn(7 * DAY_MS), createFakeHub(identityExpiringIn(7 * DAY_MS).tokenExpiresAt));
    expect((await near.client.request("status", {})).token.warning).toBe(
      "Agent token expires in 7 days: run connect up --rotate-token",
    );
    await stop(near);
    expect(logs).toContain("Warning: Agent token expires in 7 days: run connect up --rotate-token");
  });

  it("keeps the hub's last notices and shows the IP changes the hub recorded", async () => {
    const hub = createFakeHub(identityExpiringIn(20 * DAY_MS).tokenExpiresAt);
    const started = await startDaemon(identityExpiringIn(20 * DAY_MS), hub);
    const tunnel = tunnels[0];
    if (tunnel === undefined) throw new Error("no tunnel");
    hub.ipChanges = [{ previousIp: "127.0.0.1", newIp: "127.0.0.2", at: "2030-01-09T23:00:00.000Z" }];
    for (let index = 0; index < 12; index += 1) {
      tunnel.options.onNotice?.({ type: "notice", level: "info", code: "test", message: `notice ${index}` });
    }
    tunnel.options.onNotice?.({
      type: "notice",
      level: "warning",
      code: "ip_changed",
      message: "This agent's token was used from 127.0.0.2 (before: 127.0.0.1)",
    });
    // The ip_changed notice makes the agent re-read its record from the hub.
    let status = await started.client.request("status", {});
    for (let attempt = 0; attempt < 100 && status.ipChanges.length === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      status = await started.client.request("status", {});
    }
    expect(status.ipChanges).toEqual(hub.ipChanges);
    expect(status.notices).toHaveLength(10);
    expect(status.notices.at(-1)).toEqual({
      at: NOW.toISOString(),
      level: "warning",
      code: "ip_changed",
      message: "This agent's token was used from 127.0.0.2 (before: 127.0.0.1)",
    });
    expect(status.notices[0]?.message).toBe("notice 3");
    await stop(started);
  });

  it("stops for good when the hub ends it for an expired token, and records why for connect status", async () => {
    const hub = createFakeHub(identityExpiringIn(DAY_MS).tokenExpiresAt);
    const started = await startDaemon(identityExpiringIn(DAY_MS), hub);
    const reason = "Provisioned agent token expired (claude-code): provision a new one";
    tunnels[0]?.options.onFatal?.(new TunnelFatalError(reason, "token_expired"));
    const result = await started.done;
    expect(result.exitCode).toBe(1);
    expect(result.fatalError?.message).toBe(reason);
    expect(await readLastStop(paths.lastStop)).toEqual({
      at: NOW.toISOString(),
      reason,
      agentId: "agent-1",
      code: "token_expired",
    });
    expect(logs).toContain(`Stopping: ${reason}`);
    // A later start clears it: it is no longer why nothing runs.
    const again = await startDaemon(identityExpiringIn(DAY_MS), hub);
    expect(await readLastStop(paths.lastStop)).toBeUndefined();
    await stop(again);
  });
});
