// A hub RelayServer in the test process, behind its own HTTP server on a loopback port, with an
// in-memory authority instead of the database; and a raw relay client that sends only what a
// test tells it to. Shared by the relay-core and relay-fuzz integration tests.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { createLogger, type RelayAuthority, type RelayOptions, RelayServer } from "@private-connect/hub";
import { encodeControl, forEachFrame } from "@private-connect/protocol";
import WebSocket from "ws";

export async function listenOnLoopback(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return (server.address() as AddressInfo).port;
}

export interface InProcessRelay {
  relay: RelayServer;
  /** http://127.0.0.1:PORT; agents connect to `${url}/relay`. */
  url: string;
  stop(): Promise<void>;
}

export async function startInProcessRelay(authority: RelayAuthority, options: RelayOptions = {}): Promise<InProcessRelay> {
  const relay = new RelayServer(authority, createLogger("silent"), { heartbeatMs: 60_000, ...options });
  const http = createHttpServer((_req, res) => res.end());
  http.on("upgrade", (req, socket, head) => void relay.handleUpgrade(req, socket, head, "127.0.0.1"));
  const url = `http://127.0.0.1:${await listenOnLoopback(http)}`;
  return {
    relay,
    url,
    async stop() {
      await relay.shutdown();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

export interface RawRelayClient {
  ws: WebSocket;
  /** Every frame the hub sent, decoded. */
  frames: { type: number; streamId: number; payload: Buffer; flags: number }[];
  /** Resolves with the close code. */
  closed: Promise<number>;
}

/**
 * Connects with `token` and sends a valid hello; everything after that is up to the test.
 * Without `maxStreamWindow` the hello is that of an agent from before windows grew.
 */
export async function openRawRelayClient(
  url: string,
  token: string,
  { maxStreamWindow }: { maxStreamWindow?: number } = {},
): Promise<RawRelayClient> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/relay`, { headers: { authorization: `Bearer ${token}` } });
  const frames: RawRelayClient["frames"] = [];
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  ws.on("error", () => {});
  ws.on("message", (data: Buffer) => {
    try {
      forEachFrame(data, (type, streamId, payload, _offset, flags) =>
        frames.push({ type, streamId, payload: Buffer.from(payload), flags }),
      );
    } catch {
      // The hub only sends well-formed frames; a test that cares checks `frames`.
    }
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  ws.send(encodeControl({ type: "hello", versions: [1], agentVersion: "test", maxStreamWindow }));
  return { ws, frames, closed };
}
