import { createServer, type Server, type Socket } from "node:net";
import { ConnectError } from "../errors.js";

export interface ReachListener {
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Binds host:port (port 0 picks a free one) and hands every accepted socket to `onConnection`.
 * A taken port is the common mistake, so it gets its own message saying how to get out of it.
 */
export async function listenForReach(options: {
  host: string;
  port: number;
  onConnection(socket: Socket): void;
}): Promise<ReachListener> {
  // allowHalfOpen: a client that shuts down its write side (FIN) still expects the whole
  // answer; without it Node would close our side too and cut the response short.
  const server = createServer({ allowHalfOpen: true }, (socket) => options.onConnection(socket));
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(describeListenError(error, options.host, options.port));
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ host: options.host, port: options.port, exclusive: true });
  });
  // After listening, errors are about accepted sockets or the OS; they must not crash the agent.
  server.on("error", () => {});
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return { host: options.host, port, close: () => closeServer(server) };
}

function describeListenError(error: NodeJS.ErrnoException, host: string, port: number): ConnectError {
  if (error.code === "EADDRINUSE") {
    return new ConnectError(
      "PORT_IN_USE",
      `Port ${port} is already in use: choose another with --port, or omit --port to get a free one`,
      { cause: error },
    );
  }
  if (error.code === "EACCES") {
    return new ConnectError(
      "PORT_IN_USE",
      `Port ${port} needs more privileges than this agent has: choose a port above 1023 with --port`,
      { cause: error },
    );
  }
  if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND" || error.code === "EAI_AGAIN") {
    return new ConnectError("INVALID_INPUT", `Cannot listen on ${host}: it is not an address of this machine; use 127.0.0.1`, {
      cause: error,
    });
  }
  return new ConnectError("INVALID_INPUT", `Cannot listen on ${host}:${port}: ${error.message}`, { cause: error });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    // server.close(callback) would wait for every relayed connection to end. Those belong to
    // the tunnel client, which tears them down itself; here only the port has to be released,
    // which happens when the listening handle closes.
    server.close();
    setImmediate(resolve);
  });
}
