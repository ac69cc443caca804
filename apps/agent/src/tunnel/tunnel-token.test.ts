import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { CloseCode, encodeControl } from "@private-connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { Backoff } from "./backoff.js";
import { isAgentRevokedError, TunnelClient, type TunnelFatalError } from "./tunnel-client.js";

const OLD = "1".repeat(64);
const NEW = "2".repeat(64);

interface FakeRelay {
  url: string;
  /** The bearer of each connection, in order. */
  bearers: string[];
  sockets: WebSocket[];
  nextConnection(): Promise<WebSocket>;
  /** Called for every connection, with its bearer, after nextConnection's waiter. */
  onConnection(listener: (socket: WebSocket, bearer: string) => void): void;
  close(): Promise<void>;
}

async function startRelay(): Promise<FakeRelay> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/relay" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const bearers: string[] = [];
  const sockets: WebSocket[] = [];
  const waiting: ((socket: WebSocket) => void)[] = [];
  const listeners: ((socket: WebSocket, bearer: string) => void)[] = [];
  server.on("connection", (socket, request) => {
    const bearer = request.headers.authorization ?? "";
    bearers.push(bearer);
    sockets.push(socket);
    waiting.shift()?.(socket);
    for (const listener of listeners) listener(socket, bearer);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bearers,
    sockets,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    onConnection: (listener) => listeners.push(listener),
    close: () =>
      new Promise((resolve) => {
        for (const socket of server.clients) socket.terminate();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function welcome(socket: WebSocket): void {
  socket.send(
    encodeControl({
      type: "welcome",
      version: 1,
      agentId: "a",
      workspaceId: "w",
      label: "l",
      tokenExpiresAt: "2030-01-01T00:00:00.000Z",
    }),
  );
}

/** A tunnel with OLD as its token, connected to the fake relay and welcomed; returns its socket there. */
async function connectTunnel(
  relay: FakeRelay,
  options: Omit<ConstructorParameters<typeof TunnelClient>[0], "hubUrl" | "token" | "resolveTarget">,
): Promise<{ tunnel: TunnelClient; socket: WebSocket }> {
  const tunnel = new TunnelClient({ hubUrl: relay.url, token: OLD, resolveTarget: () => undefined, ...options });
  cleanups.push(() => tunnel.close());
  const first = relay.nextConnection();
  tunnel.start();
  const socket = await first;
  welcome(socket);
  await tunnel.waitConnected(5000);
  return { tunnel, socket };
}

describe("TunnelClient and token changes", () => {
  it("reconnects with the new token when the hub ends a connection of the replaced one as expired", async () => {
    const relay = await startRelay();
    cleanups.push(relay.close);
    const fatal: Error[] = [];
    const { tunnel, socket: firstSocket } = await connectTunnel(relay, {
      onFatal: (error) => fatal.push(error),
      backoff: new Backoff(10, 50),
    });

    tunnel.setToken(NEW);
    // The open connection is not touched by the change.
    expect(relay.bearers).toEqual([`Bearer ${OLD}`]);
    const second = relay.nextConnection();
    firstSocket.send(encodeControl({ type: "error", code: "token_expired", message: "Agent token expired" }));
    firstSocket.close(CloseCode.TOKEN_EXPIRED, "agent token expired");
    welcome(await second);
    await tunnel.waitConnected(5000);
    expect(relay.bearers).toEqual([`Bearer ${OLD}`, `Bearer ${NEW}`]);
    expect(fatal).toEqual([]);
  });

  it("gives up, with the hub's reason, when its current token is the one that expired", async () => {
    const relay = await startRelay();
    cleanups.push(relay.close);
    const fatal: Error[] = [];
    let markStopped = () => {};
    const stopped = new Promise<void>((resolve) => {
      markStopped = resolve;
    });
    const { tunnel, socket } = await connectTunnel(relay, {
      onFatal: (error) => fatal.push(error),
      onStateChange: (state) => {
        if (state === "closed") markStopped();
      },
      backoff: new Backoff(10, 50),
    });
    const reason = "Provisioned agent token expired: provision a new one and run connect up --token <token>";
    socket.send(encodeControl({ type: "error", code: "token_expired", message: reason }));
    socket.close(CloseCode.TOKEN_EXPIRED, "agent token expired");
    await stopped;
    expect(fatal.map((error) => error.message)).toEqual([reason]);
    expect(tunnel.lastFailure).toBe(reason);
    expect(relay.bearers).toHaveLength(1);
  });
});

const REFERENCE = "3".repeat(64);
const REVOKED_REASON = "This agent was revoked by an owner of acme: ask them to let you in again";

/**
 * A tunnel the relay revokes, beside a reference tunnel with the same (fast) backoff that the
 * relay keeps dropping with HUB_SHUTDOWN. The window in which the revoked one could have retried
 * ends when the reference has redialed `rounds` times: an event, not a sleep.
 */
async function revokeBesideReference(
  cut: (socket: WebSocket) => void,
  options: { rotateFirst?: boolean; rounds?: number; announce?: boolean } = {},
): Promise<{ relay: FakeRelay; tunnel: TunnelClient; fatal: TunnelFatalError[]; states: string[] }> {
  const rounds = options.rounds ?? 4;
  const relay = await startRelay();
  cleanups.push(relay.close);
  const fatal: TunnelFatalError[] = [];
  const states: string[] = [];
  const { tunnel, socket } = await connectTunnel(relay, {
    onFatal: (error) => fatal.push(error),
    onStateChange: (state) => states.push(state),
    backoff: new Backoff(5, 20),
  });
  // A rotation saved a new token: before, any refusal of the old one led to a redial with it.
  if (options.rotateFirst === true) tunnel.setToken(NEW);

  let referenceDials = 0;
  let markDone = () => {};
  const referenceDone = new Promise<void>((resolve) => {
    markDone = resolve;
  });
  relay.onConnection((referenceSocket, bearer) => {
    if (bearer !== `Bearer ${REFERENCE}`) return;
    referenceDials += 1;
    if (referenceDials > rounds) markDone();
    else referenceSocket.close(CloseCode.HUB_SHUTDOWN, "restarting");
  });
  const reference = new TunnelClient({
    hubUrl: relay.url,
    token: REFERENCE,
    resolveTarget: () => undefined,
    backoff: new Backoff(5, 20),
  });
  cleanups.push(() => reference.close());

  if (options.announce !== false) socket.send(encodeControl({ type: "error", code: "agent_revoked", message: REVOKED_REASON }));
  cut(socket);
  reference.start();
  await referenceDone;
  return { relay, tunnel, fatal, states };
}

describe("TunnelClient and a revoked agent", () => {
  it("stops for good with the hub's reason and never dials again, even with a rotated token", async () => {
    const { relay, tunnel, fatal, states } = await revokeBesideReference(
      (socket) => socket.close(CloseCode.AGENT_REVOKED, "agent revoked"),
      { rotateFirst: true },
    );
    expect(fatal.map((error) => error.message)).toEqual([REVOKED_REASON]);
    expect(fatal.every(isAgentRevokedError)).toBe(true);
    expect(tunnel.state).toBe("closed");
    expect(states.at(-1)).toBe("closed");
    expect(tunnel.lastFailure).toBe(REVOKED_REASON);
    // The reference redialed four times meanwhile; the revoked agent not once, with either token.
    expect(relay.bearers.filter((bearer) => bearer !== `Bearer ${REFERENCE}`)).toEqual([`Bearer ${OLD}`]);
    await expect(tunnel.waitConnected(1000)).rejects.toThrow(REVOKED_REASON);
  });

  it("takes the announced revocation as final even when the close frame never arrives", async () => {
    const { relay, fatal } = await revokeBesideReference((socket) => {
      // Let the error frame leave before the connection is cut without a close frame (1006).
      socket.once("close", () => {});
      setImmediate(() => socket.terminate());
    });
    expect(fatal.map((error) => [error.message, error.code])).toEqual([[REVOKED_REASON, "agent_revoked"]]);
    expect(relay.bearers.filter((bearer) => bearer !== `Bearer ${REFERENCE}`)).toEqual([`Bearer ${OLD}`]);
  });

  it("recognises the hub's refusal of a revoked agent's token at the upgrade, when it was offline as it happened", async () => {
    const upgrades: string[] = [];
    const body = JSON.stringify({ error: REVOKED_REASON });
    const server = createServer();
    server.on("upgrade", (request: IncomingMessage, socket: Duplex) => {
      upgrades.push(request.headers.authorization ?? "");
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const fatal: TunnelFatalError[] = [];
    let markStopped = () => {};
    const stopped = new Promise<void>((resolve) => {
      markStopped = resolve;
    });
    const tunnel = new TunnelClient({
      hubUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: OLD,
      resolveTarget: () => undefined,
      onFatal: (error) => {
        fatal.push(error);
        markStopped();
      },
      backoff: new Backoff(5, 20),
    });
    cleanups.push(() => tunnel.close());
    tunnel.start();
    await stopped;
    expect(fatal.map((error) => [error.message, error.code])).toEqual([[REVOKED_REASON, "agent_revoked"]]);
    expect(upgrades).toEqual([`Bearer ${OLD}`]);
  });
});

describe("TunnelClient replaced by another process with its token", () => {
  it("does not come straight back to throw the newer connection out, and says why", async () => {
    const { relay, tunnel, fatal } = await revokeBesideReference(
      (socket) => socket.close(CloseCode.REPLACED, "replaced by a newer connection"),
      { announce: false },
    );
    // Not fatal (it tries again in a minute), but no redial while the reference redialed four times.
    expect(fatal).toEqual([]);
    expect(tunnel.state).toBe("disconnected");
    expect(tunnel.lastFailure).toMatch(/Another process connected to the hub with this agent's token/);
    expect(relay.bearers.filter((bearer) => bearer !== `Bearer ${REFERENCE}`)).toEqual([`Bearer ${OLD}`]);
  });
});
