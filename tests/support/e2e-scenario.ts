// What the end-to-end encryption tests share: a scenario of a hub of its own, the hostile proxy
// in front of it (tests/support/hostile-hub.ts) and two agents of one workspace behind the proxy,
// and the readings they take of agents (connect status, agent.log, the RSTs the proxy saw).
import { readFileSync } from "node:fs";
import type net from "node:net";
import { join } from "node:path";
import { decodeReset, FrameType } from "@private-connect/protocol";
import { onTestFinished } from "vitest";
import { type HostileHub, type RecordedFrame, startHostileHub } from "./hostile-hub.ts";
import { connectTcp, startEchoServer, type TestServer, waitForClose } from "./net.ts";
import { type Agent, createWorkspace, expectSuccess, type Hub, parseJsonOutput, startAgent, startHub } from "./processes.ts";

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** Starting a hub and two agents, then the test's own work, on a busy 2-core machine. */
export const SCENARIO_TIMEOUT_MS = 120_000;

export interface Security {
  isEndToEnd: boolean;
  peer?: { agentId: string; label: string; isVerified: boolean; isCertified?: boolean };
  refusal?: string;
}

export interface StatusJson {
  agent: { id: string; label: string };
  hub: { state: string; relaysEndToEnd?: boolean };
  workspaceCertificate?: { workspaceKey: string; issuedAt: string };
  exposures: { name: string; security?: Security; lastFailure?: { reason: string } }[];
  reaches: { service: string; port: number; security?: Security; lastFailure?: { reason: string } }[];
}

export interface Scenario {
  hub: Hub;
  proxy: HostileHub;
  exposer: Agent;
  reacher: Agent;
  /** The workspace's API key, for another agent of it. */
  apiKey: string;
}

/** A hub of its own, the hostile proxy in front of it, and two agents of one workspace behind the proxy. */
export async function startScenario(
  name: string,
  options: { isRecording?: boolean; isStripping?: boolean } = {},
): Promise<Scenario> {
  const hub = await startHub();
  const proxy = await startHostileHub(hub.url);
  onTestFinished(async () => {
    await proxy.close();
    await hub.stop();
  });
  proxy.setRecording(options.isRecording ?? false);
  proxy.stripEndToEnd(options.isStripping ?? false);
  const { apiKey } = await createWorkspace(hub, name, `ops@${name}.test`);
  const [exposer, reacher] = await Promise.all([
    startAgent({ hub: proxy, apiKey, label: `${name}-exposer` }),
    startAgent({ hub: proxy, apiKey, label: `${name}-reacher` }),
  ]);
  onTestFinished(async () => {
    await Promise.all([exposer.down(), reacher.down()]);
  });
  return { hub, proxy, exposer, reacher, apiKey };
}

export async function expose(
  agent: Agent,
  server: TestServer,
  name: string,
  policy?: "required" | "preferred" | "off",
): Promise<void> {
  expectSuccess(await agent.run(["expose", server.address, "--name", name, ...(policy ? ["--e2e", policy] : [])]));
}

export async function reach(agent: Agent, name: string): Promise<number> {
  return parseJsonOutput<{ port: number }>(expectSuccess(await agent.run(["reach", name, "--json"]))).port;
}

export async function statusOf(agent: Agent): Promise<StatusJson> {
  return parseJsonOutput<StatusJson>(expectSuccess(await agent.run(["status", "--json"])));
}

export function agentLog(agent: Agent): string {
  try {
    return readFileSync(join(agent.configDir, "agent.log"), "utf8");
  } catch {
    return "";
  }
}

/** `size` bytes of a marker string repeated: easy to find in a recording, whatever the framing. */
export function knownPlaintext(marker: string, size: number): Buffer {
  return Buffer.from(marker.repeat(Math.ceil(size / marker.length)).slice(0, size), "utf8");
}

/** An echo server that also keeps every byte it received, to prove what reached the service. */
export async function startKeepingEchoServer(): Promise<TestServer & { received(): Buffer }> {
  const server = await startEchoServer();
  const chunks: Buffer[] = [];
  server.server.prependListener("connection", (socket: net.Socket) => {
    socket.on("data", (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  });
  return Object.assign(server, { received: () => Buffer.concat(chunks) });
}

/** Opens a connection through the reach, sends `payload`, and waits for the relay to close it. */
export async function sendAndExpectClosed(port: number, payload: Buffer): Promise<{ bytes: number }> {
  let socket: net.Socket;
  try {
    socket = await connectTcp(port);
  } catch (error) {
    // A refusal decided at accept (a key already known to be wrong) can reset the connection
    // before the connect is reported here: closed, with nothing received, all the same.
    if ((error as NodeJS.ErrnoException).code === "ECONNRESET") return { bytes: 0 };
    throw error;
  }
  socket.on("error", () => {});
  socket.write(payload);
  const outcome = await waitForClose(socket, 20_000);
  return { bytes: outcome.bytes };
}

/** The RST frames an agent sent the hub (as the proxy recorded them), decoded. */
export function resetsSentBy(proxy: HostileHub, label: string): { streamId: number; code: number; reason: string }[] {
  return proxy
    .recordedFrames()
    .filter((f: RecordedFrame) => f.label === label && f.direction === "toHub" && f.type === FrameType.RST)
    .map((f) => ({ streamId: f.streamId, ...decodeReset(f.payload) }));
}

export function reachOf(status: StatusJson, service: string): StatusJson["reaches"][number] {
  const found = status.reaches.find((r) => r.service === service);
  if (found === undefined) throw new Error(`no reach of ${service} in ${JSON.stringify(status.reaches)}`);
  return found;
}

export function exposureOf(status: StatusJson, service: string): StatusJson["exposures"][number] {
  const found = status.exposures.find((e) => e.name === service);
  if (found === undefined) throw new Error(`no exposure ${service} in ${JSON.stringify(status.exposures)}`);
  return found;
}
