import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type RequestListener,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { CloseCode, MAX_WS_MESSAGE_BYTES } from "@private-connect/protocol";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { refuseUpgrade } from "../http/responses.js";
import { SeenNonces, verifyPeerRequest } from "./peer-auth.js";
import { PeerConnection, type PeerHost } from "./peer-connection.js";

/** Where other hubs of the cluster open their peer connections, on any of the hub's servers. */
export const PEER_UPGRADE_PATH = "/cluster";

export interface PeerAcceptorOptions {
  selfHubId: string;
  clusterSecret: string;
  host: PeerHost;
  log: Logger;
  /** With HUB_PEER_TLS_*: only upgrades over TLS with a client certificate the CA signed are taken. */
  tls?: { required: boolean };
  heartbeatMs?: number;
  /** Clock of the authentication check (tests move it). */
  now?: () => number;
}

export interface PeerAcceptor {
  /** Takes over an HTTP upgrade to PEER_UPGRADE_PATH: authenticate the dialing hub, then speak the relay's frames. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Peer connections other hubs opened to this one, still open. */
  readonly connections: ReadonlySet<PeerConnection>;
  /**
   * This hub is stopping: new peer connections are refused (503) and the accepted ones told to send
   * no new stream here, while open streams finish. `close` ends them when the drain is over.
   */
  goAway(reason: string): void;
  /** Closes every accepted connection (their streams here are reset) and refuses new ones. */
  close(): void;
}

export function createPeerAcceptor(options: PeerAcceptorOptions): PeerAcceptor {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE_BYTES });
  const connections = new Set<PeerConnection>();
  const seenNonces = new SeenNonces();
  const now = options.now ?? Date.now;
  let isClosed = false;
  let isDraining = false;

  return {
    connections,
    handleUpgrade(request, socket, head) {
      socket.on("error", () => socket.destroy());
      if (isClosed || isDraining) {
        refuseUpgrade(socket, 503, "This hub is shutting down: route to another hub of the cluster");
        return;
      }
      if (options.tls?.required && !(socket instanceof TLSSocket && socket.authorized)) {
        options.log.warn({ ip: request.socket.remoteAddress }, "peer connection refused: no verified client certificate");
        refuseUpgrade(
          socket,
          403,
          "This hub takes peer connections only over TLS with a client certificate signed by HUB_PEER_TLS_CA",
        );
        return;
      }
      const verdict = verifyPeerRequest(request.headers.authorization, {
        selfHubId: options.selfHubId,
        clusterSecret: options.clusterSecret,
        now: now(),
        seenNonces,
      });
      if (!verdict.ok) {
        options.log.warn({ ip: request.socket.remoteAddress, reason: verdict.reason }, "peer connection refused");
        refuseUpgrade(socket, 401, verdict.reason);
        return;
      }
      const fromHubId = verdict.fromHubId;
      wss.handleUpgrade(request, socket, head, (ws) => {
        if (isClosed) {
          ws.close(CloseCode.HUB_SHUTDOWN, "hub shutting down");
          return;
        }
        const connection = new PeerConnection(ws, {
          remoteHubId: fromHubId,
          role: "acceptor",
          host: options.host,
          log: options.log,
          heartbeatMs: options.heartbeatMs,
          onClosed: (closed) => connections.delete(closed),
        });
        connections.add(connection);
        options.log.info({ peerHub: fromHubId }, "peer connection accepted");
      });
    },
    goAway(reason) {
      isDraining = true;
      for (const connection of connections) connection.goAway(reason);
    },
    close() {
      isClosed = true;
      for (const connection of [...connections]) connection.close(CloseCode.HUB_SHUTDOWN, "hub shutting down");
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

export interface PeerTlsFiles {
  /** Paths of PEM files: this hub's certificate and key, and the CA that signed every hub's. */
  certPath: string;
  keyPath: string;
  caPath: string;
}

export interface PeerTlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** Reads HUB_PEER_TLS_CERT/KEY/CA, naming the variable whose file cannot be read. */
export function readPeerTlsFiles(files: PeerTlsFiles): PeerTlsMaterial {
  const read = (path: string, variable: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      const cause = error instanceof Error ? error.message : String(error);
      throw new Error(`${variable} (${path}) cannot be read: ${cause}`);
    }
  };
  return {
    cert: read(files.certPath, "HUB_PEER_TLS_CERT"),
    key: read(files.keyPath, "HUB_PEER_TLS_KEY"),
    ca: read(files.caPath, "HUB_PEER_TLS_CA"),
  };
}

/**
 * Mutual TLS for peer connections: this hub's certificate, and only clients whose certificate the
 * cluster's CA signed get as far as the HTTP upgrade (the acceptor checks `authorized` again).
 */
export function peerTlsServerOptions(material: PeerTlsMaterial): ServerOptions {
  return { ...material, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.2" };
}

/**
 * A port of its own for other hubs (a `--workers` worker, whose main port its siblings share, or
 * a hub with mutual TLS between hubs): upgrades to PEER_UPGRADE_PATH go to `onUpgrade`, anything
 * else gets 404. HTTPS asking for client certificates when `tls` is given, plain HTTP otherwise.
 * `exclusive`: in a node:cluster worker a shared listen(0) would give every worker one port.
 */
export async function listenForPeers(options: {
  tls: PeerTlsMaterial | undefined;
  host: string;
  port: number;
  onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
}): Promise<{ server: HttpServer | HttpsServer; url: string }> {
  const { tls } = options;
  const refuse: RequestListener = (_request, response) => {
    response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    response.end("This port takes peer connections from other hubs only\n");
  };
  const server = tls ? createHttpsServer(peerTlsServerOptions(tls), refuse) : createHttpServer(refuse);
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((request.url ?? "/").split("?")[0] === PEER_UPGRADE_PATH) options.onUpgrade(request, socket, head);
    else refuseUpgrade(socket, 404, `This port takes peer connections at ${PEER_UPGRADE_PATH} only`);
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, host: options.host, exclusive: true }, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { server, url: `${tls ? "wss" : "ws"}://${shownHost}:${address.port}` };
}
