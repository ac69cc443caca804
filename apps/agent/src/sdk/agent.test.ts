import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { encodeE2ePublicKey, ResetCode } from "@private-connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { generateKeyPair } from "../e2e/noise/index.js";
import { ConnectError } from "../errors.js";
import { MemoryKeyBook } from "../test-support/memory-key-book.js";
import type { TunnelOptions, TunnelState, WelcomeInfo } from "../tunnel/tunnel-client.js";
import { Agent, type AgentOptions, type TunnelLike } from "./agent.js";
import type { HubClient } from "./hub-client.js";

/** Stands in for the relay client: records streams and lets the test drive the connection state. */
class FakeTunnel implements TunnelLike {
  readonly opened: { service: string; from?: string }[] = [];
  currentState: TunnelState = "disconnected";
  welcomeInfo: WelcomeInfo | undefined;
  constructor(readonly options: TunnelOptions) {}
  get state(): TunnelState {
    return this.currentState;
  }
  get welcome(): WelcomeInfo | undefined {
    return this.welcomeInfo;
  }
  start(): void {
    this.setState("connected");
  }
  setState(state: TunnelState): void {
    this.currentState = state;
    this.options.onStateChange?.(state);
  }
  waitConnected(): Promise<WelcomeInfo> {
    return Promise.reject(new Error("not used"));
  }
  openStream(socket: Socket, request: { service: string; from?: string }): void {
    this.opened.push(request);
    socket.destroy();
  }
  activeStreams(): number {
    return 0;
  }
  async close(): Promise<void> {
    this.setState("closed");
  }
}

interface FakeHub {
  client: HubClient;
  exposeCalls: { name: string; targetHost: string; targetPort: number; e2e?: string }[];
}

/** `workspacePolicy`: what the hub answers as an exposure's effective policy (the workspace's setting may raise it). */
function createFakeHub(knownServices: string[], workspacePolicy = "preferred"): FakeHub {
  const exposeCalls: FakeHub["exposeCalls"] = [];
  const client = {
    services: {
      resolve: {
        query: async ({ name }: { name: string }) => {
          if (!knownServices.includes(name)) throw new ConnectError("SERVICE_NOT_FOUND", "Service not found");
          return {
            name,
            agent: { id: "a1", label: "server", workspaceId: "w1" },
            e2e: { policy: "preferred", publicKey: null },
          };
        },
      },
      expose: {
        mutate: async (input: { name: string; targetHost: string; targetPort: number; e2e?: string }) => {
          exposeCalls.push(input);
          const own = input.e2e ?? "preferred";
          const e2ePolicy = workspacePolicy === "required" && own !== "off" ? "required" : own;
          return {
            id: "s1",
            name: input.name,
            targetHost: input.targetHost,
            targetPort: input.targetPort,
            agentId: "a1",
            e2ePolicy,
          };
        },
      },
      unexpose: { mutate: async () => ({ removed: true }) },
    },
  };
  return { client: client as unknown as HubClient, exposeCalls };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function createAgent(
  knownServices: string[] = ["prod-db"],
  options: { workspacePolicy?: string; e2e?: AgentOptions["e2e"] } = {},
) {
  const hub = createFakeHub(knownServices, options.workspacePolicy);
  let tunnel: FakeTunnel | undefined;
  const agent = new Agent({
    hubUrl: "http://127.0.0.1:3001",
    token: "t".repeat(64),
    hubClient: hub.client,
    ...(options.e2e === undefined ? {} : { e2e: options.e2e }),
    createTunnel: (options) => {
      tunnel = new FakeTunnel(options);
      return tunnel;
    },
  });
  cleanups.push(() => agent.stop());
  if (tunnel === undefined) throw new Error("tunnel not created");
  return { agent, hub, tunnel };
}

function occupyPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (typeof address !== "object" || address === null) throw new Error("no address");
      cleanups.push(() => new Promise((done) => server.close(() => done())));
      resolve({ server, port: address.port });
    });
  });
}

function connectAndWaitClose(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1");
    socket.on("close", () => resolve());
    socket.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? undefined : reject(error)));
  });
}

describe("Agent.reach", () => {
  it("binds a free port and hands each connection to the tunnel", async () => {
    const { agent, tunnel } = createAgent();
    agent.start();
    const reach = await agent.reach("prod-db");
    expect(reach).toMatchObject({ service: "prod-db", host: "127.0.0.1" });
    expect(reach.port).toBeGreaterThan(0);
    await connectAndWaitClose(reach.port);
    expect(tunnel.opened).toEqual([{ service: "prod-db" }]);
    expect(agent.status().reaches).toEqual([reach]);
  });

  it("says Service not found, and binds nothing, for an unknown name", async () => {
    const { agent } = createAgent([]);
    await expect(agent.reach("nope", { port: 0 })).rejects.toThrow(/^Service not found$/);
    expect(agent.status().reaches).toEqual([]);
  });

  it("tells how to get out of a taken port", async () => {
    const { agent } = createAgent();
    const { port } = await occupyPort();
    const failure = agent.reach("prod-db", { port });
    await expect(failure).rejects.toThrow(
      `Port ${port} is already in use: choose another with --port, or omit --port to get a free one`,
    );
    await expect(failure).rejects.toMatchObject({ code: "PORT_IN_USE" });
  });

  it("keeps the port bound while the hub is away and releases it on stopReach", async () => {
    const { agent, tunnel } = createAgent();
    agent.start();
    const reach = await agent.reach("prod-db");
    tunnel.setState("disconnected");
    await connectAndWaitClose(reach.port);
    expect(tunnel.opened).toHaveLength(1);
    expect(await agent.stopReach("prod-db")).toBe(true);
    // The port is free again: a second reach can take it.
    const again = await agent.reach("prod-db", { port: reach.port });
    expect(again.port).toBe(reach.port);
  });

  it("returns the existing reach for a repeated request, and refuses another port for it", async () => {
    const { agent } = createAgent();
    const first = await agent.reach("prod-db");
    expect(await agent.reach("prod-db")).toEqual(first);
    const { port } = await occupyPort();
    await expect(agent.reach("prod-db", { port })).rejects.toThrow(
      `Already reaching prod-db on 127.0.0.1:${first.port}: stop it first with connect reach --stop prod-db`,
    );
  });
});

describe("Agent.expose", () => {
  it("resolves only the targets it registered, and announces them again on every connect", async () => {
    const { agent, hub, tunnel } = createAgent();
    await agent.expose({ name: "prod-db", host: "localhost", port: 5432 });
    expect(tunnel.options.resolveTarget("prod-db")).toEqual({ host: "localhost", port: 5432 });
    expect(tunnel.options.resolveTarget("other")).toBeUndefined();
    expect(hub.exposeCalls).toHaveLength(1);

    agent.start();
    tunnel.setState("disconnected");
    tunnel.setState("connected");
    await new Promise((resolve) => setImmediate(resolve));
    expect(hub.exposeCalls).toEqual([
      { name: "prod-db", targetHost: "localhost", targetPort: 5432, e2e: "preferred" },
      { name: "prod-db", targetHost: "localhost", targetPort: 5432, e2e: "preferred" },
      { name: "prod-db", targetHost: "localhost", targetPort: 5432, e2e: "preferred" },
    ]);

    expect(await agent.unexpose("prod-db")).toBe(true);
    expect(tunnel.options.resolveTarget("prod-db")).toBeUndefined();
  });
});

describe("Agent, exposing side of end-to-end streams", () => {
  it("holds a service to its workspace's required policy, stricter than its own preferred, after the hub said so", async () => {
    const key = generateKeyPair();
    const { agent, tunnel } = createAgent(["prod-db"], {
      workspacePolicy: "required",
      e2e: { staticKey: { ...key, publicKeyText: encodeE2ePublicKey(key.publicKey) }, pins: new MemoryKeyBook() },
    });
    tunnel.welcomeInfo = {
      agentId: "a1",
      workspaceId: "w1",
      label: "server",
      tokenExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      protocolVersion: 3,
      relaysEndToEnd: true,
    };
    await agent.expose({ name: "prod-db", host: "localhost", port: 5432 });
    const plaintextOpen = { service: "prod-db", peer: { agentId: "a2", label: "laptop", workspaceId: "w1" } };
    const admission = tunnel.options.admitOpen?.(plaintextOpen);
    expect(admission).toMatchObject({ kind: "refuse", code: ResetCode.E2E_REQUIRED });

    // The same exposure in a workspace that only prefers encryption takes a first plaintext stream.
    const other = createAgent(["prod-db"], {
      workspacePolicy: "preferred",
      e2e: { staticKey: { ...key, publicKeyText: encodeE2ePublicKey(key.publicKey) }, pins: new MemoryKeyBook() },
    });
    other.tunnel.welcomeInfo = tunnel.welcomeInfo;
    await other.agent.expose({ name: "prod-db", host: "localhost", port: 5432 });
    expect(other.tunnel.options.admitOpen?.(plaintextOpen)).toEqual({ kind: "plaintext" });
  });
});
