import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Parser } from "@oclif/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentIdentity } from "../config/identity.js";
import { type ConfigPaths, getConfigPaths } from "../config/paths.js";
import { createControlClient } from "../daemon/control-client.js";
import { writeLastStop } from "../daemon/last-stop.js";
import { runDaemon } from "../daemon/run-daemon.js";
import type { HubClient } from "../sdk/hub-client.js";
import { captureOutput } from "../test-support/capture-output.js";
import { FakeTunnel } from "../test-support/fake-tunnel.js";
import Login from "./login.js";
import Status from "./status.js";
import Up from "./up.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OLD = "1".repeat(64);
const NEW = "2".repeat(64);

describe("connect up flags", () => {
  it("takes --token and --rotate-token, and refuses combinations that contradict them", async () => {
    const token = "ab".repeat(32);
    expect((await Parser.parse(["--token", token, "--hub", "https://hub.example.com"], { flags: Up.flags })).flags).toMatchObject(
      {
        token,
        hub: "https://hub.example.com",
        "rotate-token": false,
      },
    );
    expect((await Parser.parse(["--rotate-token"], { flags: Up.flags })).flags["rotate-token"]).toBe(true);
    await expect(Parser.parse(["--token", token, "--api-key", "pc_x"], { flags: Up.flags })).rejects.toThrow(
      /--api-key=pc_x cannot also be provided when using --token|--token=.* cannot also be provided when using --api-key/,
    );
    await expect(Parser.parse(["--token", token, "--label", "x"], { flags: Up.flags })).rejects.toThrow(
      /cannot also be provided/,
    );
    for (const other of [["--api-key", "pc_x"], ["--token", token], ["--label", "x"], ["--hub", "https://h"], ["--detach"]]) {
      await expect(Parser.parse(["--rotate-token", ...other], { flags: Up.flags }), other.join(" ")).rejects.toThrow(
        /cannot also be provided/,
      );
    }
  });

  it("has login with a required --hub and an optional --label", async () => {
    await expect(Parser.parse([], { flags: Login.flags })).rejects.toThrow(/Missing required flag hub/);
    expect((await Parser.parse(["--hub", "https://h", "--label", "box"], { flags: Login.flags })).flags).toMatchObject({
      hub: "https://h",
      label: "box",
    });
    expect(Login.examples.every((example) => example.includes("--hub"))).toBe(true);
  });
});

function fakeHubClient(token: string): HubClient {
  return {
    agents: {
      me: {
        query: async () => ({
          agentId: "agent-1",
          label: "server",
          clientType: "cli",
          tokenExpiresAt: token === NEW ? "2030-02-01T00:00:00.000Z" : "2000-01-03T00:00:00.000Z",
          workspace: { id: "ws-1", name: "acme" },
          isProvisioned: false,
          isRotationPending: false,
          recentIpChanges: [{ previousIp: "127.0.0.1", newIp: "127.0.0.2", at: "2000-01-01T12:00:00.000Z" }],
          registeredAt: "1999-12-01T00:00:00.000Z",
          tokenMaxExpiresAt: "2000-11-30T00:00:00.000Z",
        }),
      },
      rotateToken: { mutate: async () => ({ token: NEW, tokenExpiresAt: "2030-02-01T00:00:00.000Z" }) },
      confirmRotation: { mutate: async () => ({ tokenExpiresAt: "2030-02-01T00:00:00.000Z" }) },
    },
  } as unknown as HubClient;
}

let dir: string;
let paths: ConfigPaths;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-cmd-"));
  paths = getConfigPaths(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("connect up --rotate-token and connect status", () => {
  it("asks the running agent to rotate, and status shows the expiry warning and IP changes", async () => {
    const identity: AgentIdentity = {
      hubUrl: "http://127.0.0.1:3001",
      agentId: "agent-1",
      token: OLD,
      // Two days from the injected clock below.
      tokenExpiresAt: "2000-01-03T00:00:00.000Z",
      workspace: { id: "ws-1", name: "acme" },
      label: "server",
    };
    const tunnels: FakeTunnel[] = [];
    const done = runDaemon({
      paths,
      identity,
      isInsecureAllowed: false,
      isHandlingSignals: false,
      log: () => {},
      hubClient: fakeHubClient(OLD),
      createHubClientForToken: fakeHubClient,
      now: () => new Date("2000-01-01T00:00:00.000Z"),
      createTunnel: (options) => {
        const tunnel = new FakeTunnel(options, 1);
        tunnels.push(tunnel);
        return tunnel;
      },
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
    try {
      const before = await captureOutput(() => Status.run(["--config", dir], ROOT));
      expect(before.exitCode).toBe(0);
      expect(before.stdout).toContain("Warning    Agent token expires in 2 days: run connect up --rotate-token");
      expect(before.stdout).toContain("2000-01-01T12:00:00.000Z  127.0.0.1 -> 127.0.0.2");

      const rotated = await captureOutput(() => Up.run(["--rotate-token", "--config", dir], ROOT));
      expect(rotated.exitCode).toBe(0);
      expect(rotated.stdout).toMatch(
        /^Rotated the token of the running agent for .* the new token expires 2030-02-01T00:00:00.000Z; its hub connection stayed up/,
      );
      expect(tunnels).toHaveLength(1);
      expect(tunnels[0]?.tokens).toEqual([OLD, NEW]);
      expect(JSON.parse(await readFile(paths.identity, "utf8"))).toMatchObject({ token: NEW });

      const after = await captureOutput(() => Status.run(["--config", dir, "--json"], ROOT));
      const status = JSON.parse(after.stdout) as { token: { expiresAt: string; warning?: string } };
      expect(status.token).toEqual({
        expiresAt: "2030-02-01T00:00:00.000Z",
        isProvisioned: false,
        registeredAt: "1999-12-01T00:00:00.000Z",
        maxExpiresAt: "2000-11-30T00:00:00.000Z",
      });
      const text = await captureOutput(() => Status.run(["--config", dir], ROOT));
      expect(text.stdout).toContain(
        "Lifetime   rotations extend it until 2000-11-30T00:00:00.000Z at most (registered 1999-12-01T00:00:00.000Z), then register again",
      );
    } finally {
      await control.request("shutdown", {});
      await done;
    }
  });

  it("without an agent or identity, says how to get one", async () => {
    const result = await captureOutput(() => Up.run(["--rotate-token", "--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `No agent is registered in ${dir}, so there is no token to rotate: register one with connect up --api-key <key> or connect login --hub <url>`,
    );
  });

  it("status of a stopped agent says why the hub stopped it", async () => {
    await writeFile(paths.identity, "{}");
    await writeLastStop(paths.lastStop, { at: "2030-01-01T00:00:00.000Z", reason: "Agent token expired: register again" });
    const result = await captureOutput(() => Status.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `No agent is running for ${dir}: the hub stopped it at 2030-01-01T00:00:00.000Z: Agent token expired: register again`,
    );
  });
});
