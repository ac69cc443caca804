import type { AddressInfo } from "node:net";
import { CloseCode, encodeControl } from "@private-connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { Backoff } from "./backoff.js";
import { TunnelClient } from "./tunnel-client.js";

const OLD = "1".repeat(64);
const NEW = "2".repeat(64);

interface FakeRelay {
  url: string;
  /** The bearer of each connection, in order. */
  bearers: string[];
  sockets: WebSocket[];
  nextConnection(): Promise<WebSocket>;
  close(): Promise<void>;
}

async function startRelay(): Promise<FakeRelay> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/relay" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const bearers: string[] = [];
  const sockets: WebSocket[] = [];
  const waiting: ((socket: WebSocket) => void)[] = [];
  server.on("connection", (socket, request) => {
    bearers.push(request.headers.authorization ?? "");
    sockets.push(socket);
    waiting.shift()?.(socket);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bearers,
    sockets,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
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

describe("TunnelClient and token changes", () => {
  it("reconnects with the new token when the hub ends a connection of the replaced one as expired", async () => {
    const relay = await startRelay();
    cleanups.push(relay.close);
    const fatal: Error[] = [];
    const tunnel = new TunnelClient({
      hubUrl: relay.url,
      token: OLD,
      resolveTarget: () => undefined,
      onFatal: (error) => fatal.push(error),
      backoff: new Backoff(10, 50),
    });
    cleanups.push(() => tunnel.close());
    const first = relay.nextConnection();
    tunnel.start();
    const firstSocket = await first;
    welcome(firstSocket);
    await tunnel.waitConnected(5000);

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
    const tunnel = new TunnelClient({
      hubUrl: relay.url,
      token: OLD,
      resolveTarget: () => undefined,
      onFatal: (error) => fatal.push(error),
      onStateChange: (state) => {
        if (state === "closed") markStopped();
      },
      backoff: new Backoff(10, 50),
    });
    cleanups.push(() => tunnel.close());
    const first = relay.nextConnection();
    tunnel.start();
    const socket = await first;
    welcome(socket);
    await tunnel.waitConnected(5000);
    const reason = "Provisioned agent token expired: provision a new one and run connect up --token <token>";
    socket.send(encodeControl({ type: "error", code: "token_expired", message: reason }));
    socket.close(CloseCode.TOKEN_EXPIRED, "agent token expired");
    await stopped;
    expect(fatal.map((error) => error.message)).toEqual([reason]);
    expect(tunnel.lastFailure).toBe(reason);
    expect(relay.bearers).toHaveLength(1);
  });
});
