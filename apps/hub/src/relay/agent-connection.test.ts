import { once } from "node:events";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { CloseCode, decodeControl, encodeControl, FrameType, forEachFrame, PROTOCOL_VERSIONS } from "@private-connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { createLogger } from "../logger.js";
import { HUB_VERSION } from "../version.js";
import { AgentConnection, type ConnectionHost, describeVersionRefusal } from "./agent-connection.js";

const NEWEST = Math.max(...PROTOCOL_VERSIONS);
const servers: WebSocketServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A hub-side AgentConnection behind a loopback WebSocket server; the test is the agent. */
async function connectToHub(): Promise<{ agent: WebSocket; logLines: Record<string, unknown>[]; readied: string[] }> {
  const logLines: Record<string, unknown>[] = [];
  const log = createLogger(
    "info",
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString("utf8").split("\n")) if (line) logLines.push(JSON.parse(line));
        done();
      },
    }),
  );
  const readied: string[] = [];
  const host: ConnectionHost = {
    openStream: () => undefined,
    onReady: (connection) => readied.push(connection.label),
    recheckCredentials: async () => undefined,
    onClosed: () => undefined,
  };
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  servers.push(server);
  await once(server, "listening");
  server.on("connection", (ws) => {
    const identity = {
      agentId: "a-1",
      workspaceId: "w-1",
      label: "laptop",
      clientType: "cli",
      tokenExpiresAt: new Date(Date.now() + 3_600_000),
    };
    new AgentConnection(ws, identity, "127.0.0.1", host, { maxStreams: 8, maxPendingOpens: 8, helloTimeoutMs: 10_000 }, log);
  });
  const agent = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await once(agent, "open");
  return { agent, logLines, readied };
}

/** Sends a hello, then collects the hub's control messages until it closes the connection. */
async function helloAndWait(agent: WebSocket, hello: { versions: number[]; agentVersion: string }) {
  const controls: ReturnType<typeof decodeControl>[] = [];
  agent.on("message", (data: Buffer) =>
    forEachFrame(data, (type, _streamId, payload) => {
      if (type === FrameType.CONTROL) controls.push(decodeControl(Buffer.from(payload)));
    }),
  );
  agent.send(encodeControl({ type: "hello", ...hello }));
  return { controls, waitForClose: once(agent, "close").then(([code]) => code as number) };
}

describe("version refusal", () => {
  it("HUB_VERSION is the hub package's version", () => {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(HUB_VERSION).toBe(manifest.version);
  });

  it("a newer agent is refused with both versions named, told to upgrade the hub, and the hub logs the same", async () => {
    const { agent, logLines, readied } = await connectToHub();
    const { controls, waitForClose } = await helloAndWait(agent, { versions: [NEWEST + 1], agentVersion: "9.4.0" });
    expect(await waitForClose).toBe(CloseCode.UNSUPPORTED_VERSION);
    const refusal = controls.find((control) => control.type === "error");
    expect(refusal).toEqual({
      type: "error",
      code: "unsupported_version",
      message: `Hub ${HUB_VERSION} (protocol ${PROTOCOL_VERSIONS.join(", ")}) cannot talk to agent 9.4.0 (protocol ${NEWEST + 1}): upgrade the hub (connect-hub) to 9.4.0 or later`,
    });
    expect(readied).toEqual([]);
    const logged = logLines.find((line) => line.msg === refusal?.message);
    expect(logged).toMatchObject({ hubVersion: HUB_VERSION, agentVersion: "9.4.0", agentProtocols: [NEWEST + 1] });
  });

  it("an older agent is told to upgrade itself to the hub's version", () => {
    expect(describeVersionRefusal("0.0.1", [NEWEST - 1])).toBe(
      `Hub ${HUB_VERSION} (protocol ${PROTOCOL_VERSIONS.join(", ")}) cannot talk to agent 0.0.1 (protocol ${NEWEST - 1}): upgrade the connect agent to ${HUB_VERSION} or later`,
    );
  });

  it("an agent's version string cannot put control characters into the message", () => {
    const message = describeVersionRefusal("1.0\u001b[2J\n", [NEWEST + 1]);
    expect([...message].filter((character) => character.charCodeAt(0) < 0x20)).toEqual([]);
    expect(message).toContain("agent 1.0\\x1b[2J\\n (protocol");
  });

  it("an agent that speaks the hub's protocol gets a welcome with the hub's version", async () => {
    const { agent, readied } = await connectToHub();
    const { controls } = await helloAndWait(agent, { versions: [...PROTOCOL_VERSIONS], agentVersion: "0.1.0" });
    await expect.poll(() => controls.length).toBe(1);
    expect(controls[0]).toMatchObject({ type: "welcome", version: NEWEST, hubVersion: HUB_VERSION });
    expect(readied).toEqual(["laptop"]);
    agent.close();
  });
});
