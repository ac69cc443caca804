import type { IncomingMessage } from "node:http";
import { CloseCode, MAX_WS_MESSAGE_BYTES } from "@private-connect/protocol";
import type { Logger } from "pino";
import WebSocket from "ws";
import { signPeerRequest } from "./peer-auth.js";
import { PeerConnection, type PeerHost } from "./peer-connection.js";
import { PEER_UPGRADE_PATH, type PeerTlsMaterial } from "./peer-listener.js";

/** Another hub's address as the cluster registry knows it. */
export interface PeerAddress {
  hubId: string;
  peerUrl: string;
}

/** A peer hub could not be dialed: the open that needed it fails with this message. */
export class PeerUnreachable extends Error {
  override readonly name = "PeerUnreachable";
  constructor(
    readonly hubId: string,
    readonly peerUrl: string,
    cause: string,
  ) {
    super(`The hub ${hubId} at ${peerUrl} cannot be reached: ${cause}`);
  }
}

export interface PeerPoolOptions {
  selfHubId: string;
  clusterSecret: string;
  /** Connections kept to each peer hub (HUB_PEER_CONNECTIONS); streams go to the least busy one. */
  connectionsPerPeer: number;
  host: PeerHost;
  log: Logger;
  /** With HUB_PEER_TLS_*: this hub's certificate as the client's, and the CA peers' certificates must chain to. */
  tls?: PeerTlsMaterial;
  connectTimeoutMs?: number;
  heartbeatMs?: number;
}

export interface PeerPool {
  /** An open connection to `hub` with room for a stream, dialing one if there is none. Throws PeerUnreachable. */
  connectionTo(hub: PeerAddress): Promise<PeerConnection>;
  /** Closes every connection (their streams here are reset) and dials nothing more. */
  closeAll(): void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
/** Enough of a refusal's body to show its `{ "error": ... }` message. */
const MAX_REFUSAL_BODY_BYTES = 4096;

/** Connections to one peer hub at one address. */
interface PeerEntry {
  peerUrl: string;
  connections: PeerConnection[];
  /** The dial under way, shared by everyone who needs a connection meanwhile. */
  dialing: Promise<PeerConnection> | undefined;
}

export function createPeerPool(options: PeerPoolOptions): PeerPool {
  const entries = new Map<string, PeerEntry>();
  /** Every open connection, also those to an address a hub no longer has. */
  const all = new Set<PeerConnection>();
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let isClosed = false;

  function entryFor(hub: PeerAddress): PeerEntry {
    const existing = entries.get(hub.hubId);
    if (existing && existing.peerUrl === hub.peerUrl) return existing;
    // The hub id came back at another address (a restart elsewhere): streams on the old
    // connections may finish there, new ones go to the new address.
    const entry: PeerEntry = { peerUrl: hub.peerUrl, connections: [], dialing: undefined };
    entries.set(hub.hubId, entry);
    return entry;
  }

  function startDial(hub: PeerAddress, entry: PeerEntry): Promise<PeerConnection> {
    const dial = dialPeer(hub, entry).then(
      (connection) => {
        if (entry.dialing === dial) entry.dialing = undefined;
        if (isClosed) {
          connection.close(CloseCode.HUB_SHUTDOWN, "hub shutting down");
          throw new PeerUnreachable(hub.hubId, hub.peerUrl, "this hub is shutting down");
        }
        entry.connections.push(connection);
        return connection;
      },
      (error: unknown) => {
        if (entry.dialing === dial) entry.dialing = undefined;
        throw error;
      },
    );
    entry.dialing = dial;
    return dial;
  }

  function dialPeer(hub: PeerAddress, entry: PeerEntry): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      const url = `${hub.peerUrl.replace(/\/+$/, "")}${PEER_UPGRADE_PATH}`;
      const authorization = signPeerRequest({
        fromHubId: options.selfHubId,
        toHubId: hub.hubId,
        clusterSecret: options.clusterSecret,
        now: Date.now(),
      });
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, {
          headers: { authorization },
          perMessageDeflate: false,
          maxPayload: MAX_WS_MESSAGE_BYTES,
          handshakeTimeout: connectTimeoutMs,
          // Masking guards HTTP caches against bytes a browser script chose; a peer connection is
          // hub to hub, and masking would copy every relayed byte on its way out. A zero mask is
          // skipped by ws.
          generateMask: zeroMask,
          ...(options.tls ? { cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca } : {}),
        });
      } catch (error) {
        reject(new PeerUnreachable(hub.hubId, hub.peerUrl, error instanceof Error ? error.message : String(error)));
        return;
      }
      let isSettled = false;
      const onError = (error: Error) => fail(describeDialError(error));
      const onRefused = (_request: unknown, response: IncomingMessage) => {
        readRefusal(response).then(
          (message) => fail(`it refused the peer connection with ${response.statusCode}${message ? `: ${message}` : ""}`),
          () => fail(`it refused the peer connection with ${response.statusCode}`),
        );
      };
      const settle = () => {
        isSettled = true;
        clearTimeout(timer);
        ws.off("error", onError);
        ws.off("unexpected-response", onRefused);
      };
      const fail = (cause: string) => {
        if (isSettled) return;
        settle();
        // Errors while the abandoned socket is torn down must not go unhandled.
        ws.on("error", () => {});
        ws.terminate();
        reject(new PeerUnreachable(hub.hubId, hub.peerUrl, cause));
      };
      // Covers the TCP connect and TLS handshake too, which handshakeTimeout alone may not.
      const timer = setTimeout(() => fail(`no answer within ${connectTimeoutMs} ms`), connectTimeoutMs);
      ws.on("error", onError);
      ws.on("unexpected-response", onRefused);
      ws.once("open", () => {
        if (isSettled) return;
        settle();
        const connection = new PeerConnection(ws, {
          remoteHubId: hub.hubId,
          role: "dialer",
          host: options.host,
          log: options.log,
          heartbeatMs: options.heartbeatMs,
          onClosed: (closed) => {
            all.delete(closed);
            entry.connections = entry.connections.filter((open) => open !== closed);
          },
        });
        all.add(connection);
        options.log.info({ peerHub: hub.hubId, peerUrl: hub.peerUrl }, "peer connection opened");
        resolve(connection);
      });
    });
  }

  return {
    async connectionTo(hub) {
      if (isClosed) throw new PeerUnreachable(hub.hubId, hub.peerUrl, "this hub is shutting down");
      const entry = entryFor(hub);
      let best: PeerConnection | undefined;
      for (const connection of entry.connections) {
        if (connection.hasCapacity() && (best === undefined || connection.streamCount < best.streamCount)) best = connection;
      }
      // Connections are dialed one at a time as streams need them, up to connectionsPerPeer usable ones.
      const usable = entry.connections.filter((connection) => connection.hasCapacity()).length;
      if (usable < options.connectionsPerPeer && entry.dialing === undefined) {
        const dial = startDial(hub, entry);
        if (best !== undefined) {
          dial.catch((error: unknown) =>
            options.log.warn(
              { peerHub: hub.hubId, err: error instanceof Error ? error.message : String(error) },
              "extra peer connection failed",
            ),
          );
        }
      }
      if (best !== undefined) return best;
      const dialing = entry.dialing ?? startDial(hub, entry);
      const connection = await dialing;
      if (connection.hasCapacity()) return connection;
      // Everyone waiting on one dial got the same fresh connection and filled it: a rare case, not worth a queue.
      throw new PeerUnreachable(hub.hubId, hub.peerUrl, "every connection to it is at its stream limit");
    },
    closeAll() {
      isClosed = true;
      for (const connection of [...all]) connection.close(CloseCode.HUB_SHUTDOWN, "hub shutting down");
      entries.clear();
    },
  };
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

function describeDialError(error: Error & { code?: string }): string {
  if (error.code === "ECONNREFUSED") return "connection refused (is it running, and is HUB_PEER_URL right?)";
  if (error.code === "ENOTFOUND" || error.code === "EAI_AGAIN") return `its host name does not resolve (${error.code})`;
  return error.message;
}

/** The `error` of a refusal's JSON body (what refuseUpgrade sends), if there is one. */
function readRefusal(response: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REFUSAL_BODY_BYTES) chunks.push(chunk);
      else response.destroy();
    });
    response.on("error", reject);
    response.on("close", () => {
      try {
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const message = typeof body === "object" && body !== null && "error" in body ? body.error : undefined;
        resolve(typeof message === "string" ? message.slice(0, 300) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}
