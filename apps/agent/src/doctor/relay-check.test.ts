import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CloseCode, decodeControl, encodeControl, FrameType, forEachFrame } from "@private-connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { AgentProcessStatus } from "../daemon/control-protocol.js";
import { checkRelay, type RelayCheckInput } from "./relay-check.js";
import { probeRelay } from "./relay-probe.js";

const TOKEN = "a".repeat(64);
let server: Server | undefined;

/** A stand-in relay: refuses a wrong bearer with 401, then answers the hello as `mode` says. */
async function startRelay(mode: "welcome" | "too-new"): Promise<{ url: string; hellos: unknown[] }> {
  const hellos: unknown[] = [];
  const wss = new WebSocketServer({ noServer: true });
  server = createServer();
  server.on("upgrade", (request, socket, head) => {
    if (request.url !== "/relay" || request.headers.authorization !== `Bearer ${TOKEN}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\r\n{"error":"Invalid credentials"}');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on("message", (data: Buffer) => {
        forEachFrame(data, (type, _streamId, payload) => {
          if (type !== FrameType.CONTROL) return;
          hellos.push(decodeControl(payload));
          if (mode === "welcome") {
            ws.send(
              encodeControl({
                type: "welcome",
                version: 1,
                agentId: "a",
                workspaceId: "w",
                label: "laptop",
                tokenExpiresAt: "2027-01-01T00:00:00.000Z",
              }),
            );
          } else {
            const message =
              "Hub 9.0.0 (protocol 9) cannot talk to agent 0.1.0 (protocol 1): upgrade the connect agent to 9.0.0 or later";
            ws.send(encodeControl({ type: "error", code: "unsupported_version", message }));
            ws.close(CloseCode.UNSUPPORTED_VERSION, "unsupported protocol version");
          }
        });
      });
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hellos };
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

function statusWith(hub: AgentProcessStatus["hub"]): AgentProcessStatus {
  return {
    pid: process.pid,
    configDir: "/tmp/x",
    agent: { id: "a", label: "laptop", workspace: { id: "w", name: "acme" } },
    hub,
    token: { expiresAt: "2027-01-01T00:00:00.000Z", isProvisioned: false },
    exposures: [],
    reaches: [],
    activeStreams: 0,
    notices: [],
    ipChanges: [],
  };
}

function input(overrides: Partial<RelayCheckInput>): RelayCheckInput {
  return {
    status: undefined,
    isHubUsable: true,
    isConnectedElsewhere: async () => false,
    probe: () => Promise.reject(new Error("the probe must not run in this case")),
    agentVersion: "0.1.0",
    logPath: "/tmp/x/agent.log",
    ...overrides,
  };
}

describe("checkRelay with no agent running: one hello", () => {
  it("passes when the hub welcomes this agent's protocol, and hangs up", async () => {
    const relay = await startRelay("welcome");
    const check = await checkRelay(
      input({ probe: () => probeRelay({ hubUrl: relay.url, token: TOKEN, agentVersion: "0.1.0" }) }),
    );
    expect(check).toEqual({ name: "protocol", status: "pass", detail: "the hub agreed on protocol 1" });
    expect(relay.hellos).toEqual([{ type: "hello", versions: [1], agentVersion: "0.1.0" }]);
  });

  it("fails with both versions and which to upgrade when the hub speaks another protocol", async () => {
    const relay = await startRelay("too-new");
    const check = await checkRelay(
      input({ probe: () => probeRelay({ hubUrl: relay.url, token: TOKEN, agentVersion: "0.1.0" }) }),
    );
    expect(check.status).toBe("fail");
    expect(check.detail).toBe(
      "Hub 9.0.0 (protocol 9) cannot talk to agent 0.1.0 (protocol 1): upgrade the connect agent to 9.0.0 or later",
    );
  });

  it("fails a refused upgrade with the hub's reason", async () => {
    const relay = await startRelay("welcome");
    const check = await checkRelay(
      input({ probe: () => probeRelay({ hubUrl: relay.url, token: "b".repeat(64), agentVersion: "0.1.0" }) }),
    );
    expect(check).toMatchObject({
      status: "fail",
      detail: "The relay refused the connection (HTTP 401): Invalid credentials",
      fix: "see the token check",
    });
  });

  it("does not say hello when the hub sees this agent connected elsewhere: it would replace that connection", async () => {
    const check = await checkRelay(input({ isConnectedElsewhere: async () => true }));
    expect(check.status).toBe("warn");
    expect(check.detail).toContain("a hello from here would replace");
  });

  it("is not checked when the hub or token checks failed", async () => {
    expect((await checkRelay(input({ isHubUsable: false }))).status).toBe("skip");
  });
});

describe("checkRelay with a running agent: its own connection answers", () => {
  it("passes when it is connected, without a hello of its own", async () => {
    expect((await checkRelay(input({ status: statusWith({ url: "http://h", state: "connected" }) }))).status).toBe("pass");
  });

  it("fails with the hub's refusal when the hub refused its version", async () => {
    const lastError =
      "Hub 9.0.0 (protocol 9) cannot talk to agent 0.1.0 (protocol 1): upgrade the connect agent to 9.0.0 or later";
    const check = await checkRelay(input({ status: statusWith({ url: "http://h", state: "disconnected", lastError }) }));
    expect(check).toMatchObject({ status: "fail", detail: lastError });
  });

  it("fails when it is disconnected for another reason, pointing at its log", async () => {
    const check = await checkRelay(
      input({ status: statusWith({ url: "http://h", state: "disconnected", lastError: "connect ECONNREFUSED 127.0.0.1:1" }) }),
    );
    expect(check).toEqual({
      name: "protocol",
      status: "fail",
      detail: "The running agent is disconnected from the hub: connect ECONNREFUSED 127.0.0.1:1",
      fix: "see /tmp/x/agent.log",
    });
  });
});
