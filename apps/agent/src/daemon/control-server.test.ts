import { mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConnectError } from "../errors.js";
import { createControlClient } from "./control-client.js";
import type { AgentProcessStatus, ControlHandler } from "./control-protocol.js";
import { type ControlServer, startControlServer } from "./control-server.js";

const status: AgentProcessStatus = {
  pid: 4242,
  configDir: "/tmp/x",
  agent: { id: "agent-1", label: "server", workspace: { id: "ws-1", name: "acme" } },
  hub: { url: "http://127.0.0.1:3001", state: "connected" },
  token: { expiresAt: "2030-01-01T00:00:00.000Z", isProvisioned: false },
  exposures: [{ name: "prod-db", host: "localhost", port: 5432 }],
  reaches: [],
  activeStreams: 0,
  notices: [],
  ipChanges: [],
};

function createFakeHandler(calls: unknown[]): ControlHandler {
  return {
    status: async () => status,
    expose: async (params) => {
      calls.push(["expose", params]);
      if (params.name === "taken") throw new ConnectError("HUB_REJECTED", "Service name taken is used by another agent");
      return params;
    },
    unexpose: async () => ({ removed: true }),
    reach: async (params) => ({ service: params.service, host: params.host ?? "127.0.0.1", port: params.port ?? 40000 }),
    stopReach: async () => ({ stopped: true }),
    waitConnected: async () => status,
    shutdown: async () => ({ ok: true }),
    rotateToken: async () => ({ tokenExpiresAt: "2030-02-01T00:00:00.000Z", isResumed: false }),
    lookupService: async () => ({ service: null }),
    waitStreamOpen: async () => ({ isAnswered: false, isOpened: false, openMs: null }),
  };
}

let dir: string;
let server: ControlServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-ctl-"));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Sends raw lines and collects the answers, to see what a misbehaving client gets. */
function sendRaw(socketPath: string, text: string, expectedLines: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(text));
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n").filter((line) => line !== "");
      if (lines.length >= expectedLines) {
        socket.destroy();
        resolve(lines.map((line) => JSON.parse(line) as unknown));
      }
    });
    socket.on("error", reject);
  });
}

describe("control socket", () => {
  it("answers typed requests with the handler's results", async () => {
    const calls: unknown[] = [];
    const socketPath = join(dir, "agent.sock");
    server = await startControlServer(socketPath, createFakeHandler(calls));
    const client = createControlClient(socketPath);
    expect(await client.request("status", {})).toEqual(status);
    expect(await client.request("expose", { name: "prod-db", host: "localhost", port: 5432 })).toEqual({
      name: "prod-db",
      host: "localhost",
      port: 5432,
    });
    expect(calls).toEqual([["expose", { name: "prod-db", host: "localhost", port: 5432 }]]);
  });

  it("carries the handler's error message and code to the caller", async () => {
    const socketPath = join(dir, "agent.sock");
    server = await startControlServer(socketPath, createFakeHandler([]));
    const failure = createControlClient(socketPath).request("expose", { name: "taken", host: "localhost", port: 1 });
    await expect(failure).rejects.toThrow("Service name taken is used by another agent");
    await expect(failure).rejects.toMatchObject({ code: "HUB_REJECTED" });
  });

  it("rejects invalid params before the handler sees them", async () => {
    const calls: unknown[] = [];
    const socketPath = join(dir, "agent.sock");
    server = await startControlServer(socketPath, createFakeHandler(calls));
    const failure = createControlClient(socketPath).request("expose", { name: "x", host: "localhost", port: 70000 });
    await expect(failure).rejects.toThrow(/^Invalid expose request: port: /);
    expect(calls).toEqual([]);
  });

  it("answers garbage, unknown methods and pipelined requests on one connection", async () => {
    const socketPath = join(dir, "agent.sock");
    server = await startControlServer(socketPath, createFakeHandler([]));
    const answers = await sendRaw(
      socketPath,
      'not json\n{"id":1,"method":"selfDestruct"}\n{"id":2,"method":"unexpose","params":{"name":"a"}}\n',
      3,
    );
    expect(answers).toContainEqual({ id: null, error: { message: "Control request is not valid JSON" } });
    expect(answers).toContainEqual({ id: 1, error: { message: 'Unknown control method "selfDestruct"' } });
    expect(answers).toContainEqual({ id: 2, result: { removed: true } });
  });

  it("says no agent is running when nothing listens on the socket", async () => {
    const failure = createControlClient(join(dir, "agent.sock")).request("status", {});
    await expect(failure).rejects.toThrow(`No agent is running for ${dir}: start one with connect up`);
    await expect(failure).rejects.toMatchObject({ code: "AGENT_NOT_RUNNING" });
  });
});
