// Loopback TCP helpers for end-to-end tests: small servers with known behaviour, and bounded
// ways to wait on sockets. Every wait has a timeout; nothing listens beyond 127.0.0.1.
import { createHash } from "node:crypto";
import net from "node:net";

export const LOOPBACK = "127.0.0.1";

export interface TestServer {
  server: net.Server;
  host: string;
  port: number;
  /** "127.0.0.1:PORT", the form `connect expose` takes. */
  address: string;
  /** Sockets the server accepted and are still open, for assertions and teardown. */
  sockets: Set<net.Socket>;
  /** How many connections the server has accepted in all. */
  readonly connections: number;
  close(): Promise<void>;
}

const openServers = new Set<TestServer>();

async function listen(onConnection: (socket: net.Socket) => void, options: net.ServerOpts = {}): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer(options, (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // A reset from the relay is a legitimate outcome in several tests: never crash on it.
    socket.on("error", () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: LOOPBACK, port: 0 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  const handle: TestServer = {
    server,
    host: LOOPBACK,
    port,
    address: `${LOOPBACK}:${port}`,
    sockets,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        openServers.delete(handle);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  openServers.add(handle);
  return handle;
}

/** Closes every server these helpers started in this process (for the e2e teardown). */
export async function closeAllServers(): Promise<void> {
  await Promise.all([...openServers].map((s) => s.close()));
}

/** Echoes every byte back and carries the client's FIN back as its own. */
export function startEchoServer(): Promise<TestServer> {
  return listen((socket) => socket.pipe(socket));
}

/** Reads until FIN, then replies with the hex SHA-256 of all it got and ends. */
export function startSha256Server(): Promise<TestServer> {
  return listen(
    (socket) => {
      const hash = createHash("sha256");
      socket.on("data", (chunk: Buffer) => hash.update(chunk));
      socket.on("end", () => socket.end(hash.digest("hex")));
    },
    { allowHalfOpen: true },
  );
}

/** Buffers everything until FIN, and only then sends it all back (a response after half-close). */
export function startReplyAfterFinServer(): Promise<TestServer> {
  return listen(
    (socket) => {
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("end", () => socket.end(Buffer.concat(chunks)));
    },
    { allowHalfOpen: true },
  );
}

/**
 * Sends `greeting`, ends its own write side at once, and keeps reading: FIN in the
 * server-to-client direction must not tear down the client-to-server direction.
 * `received` resolves with what the client sent, when the client's FIN arrives.
 */
export async function startGreetThenListenServer(greeting: Buffer): Promise<TestServer & { received: Promise<Buffer> }> {
  let resolveReceived: (value: Buffer) => void = () => {};
  const received = new Promise<Buffer>((resolve) => {
    resolveReceived = resolve;
  });
  const server = await listen(
    (socket) => {
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("end", () => resolveReceived(Buffer.concat(chunks)));
      socket.end(greeting);
    },
    { allowHalfOpen: true },
  );
  return Object.assign(server, { received });
}

/**
 * Accepts connections but reads nothing and answers nothing for `delayMs`, then echoes.
 * With a client that writes the moment it connects, the bytes reach the relay long before the
 * far side is ready for them: they have to be buffered, not dropped.
 */
export function startDelayedEchoServer(delayMs: number): Promise<TestServer> {
  return listen(
    (socket) => {
      const timer = setTimeout(() => {
        socket.pipe(socket);
        socket.resume();
      }, delayMs);
      socket.on("close", () => clearTimeout(timer));
    },
    { pauseOnConnect: true },
  );
}

/** Accepts connections and never reads from them: the slowest possible reader. */
export function startSinkServer(): Promise<TestServer> {
  return listen(() => {}, { pauseOnConnect: true });
}

/** A port that was free a moment ago on 127.0.0.1 (the usual race is accepted for tests). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: LOOPBACK, port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on 127.0.0.1:port (we could bind it ourselves). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function connectTcp(port: number, host = LOOPBACK, timeoutMs = 10_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Everything the socket delivers until its end; rejects on error, timeout or too many bytes. */
export function readAll(
  socket: net.Socket,
  { timeoutMs = 30_000, maxBytes = 64 * 1024 * 1024 }: { timeoutMs?: number; maxBytes?: number } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onError);
      socket.off("close", onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total > maxBytes) {
        socket.destroy();
        finish(new Error(`readAll: more than ${maxBytes} bytes`));
      }
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(error);
    const onClose = () => finish(new Error(`socket closed without FIN after ${total} bytes`));
    const timer = setTimeout(() => {
      socket.destroy();
      finish(new Error(`readAll timed out after ${timeoutMs} ms with ${total} bytes`));
    }, timeoutMs);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("error", onError);
    socket.once("close", onClose);
  });
}

export interface CloseOutcome {
  /** The error the socket reported before closing, if any (ECONNRESET, say). */
  error?: Error;
  /** Bytes that arrived while waiting. */
  bytes: number;
  ms: number;
}

/** Waits until the socket is fully closed (by FIN or by error); rejects after timeoutMs. */
export function waitForClose(socket: net.Socket, timeoutMs: number): Promise<CloseOutcome> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let error: Error | undefined;
    if (socket.destroyed) {
      resolve({ bytes, ms: 0 });
      return;
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`socket still open after ${timeoutMs} ms (${bytes} bytes received)`));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on("error", (e) => {
      error = e;
    });
    // A half-closed socket (FIN received) is finished for the reader; make it close fully.
    socket.on("end", () => socket.end());
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ error, bytes, ms: Date.now() - started });
    });
    socket.resume();
  });
}

/** Sends `payload`, half-closes, and returns everything the other side sends back. */
export async function roundTrip(port: number, payload: Buffer, timeoutMs = 30_000): Promise<Buffer> {
  const socket = await connectTcp(port, LOOPBACK, timeoutMs);
  try {
    const reply = readAll(socket, { timeoutMs });
    socket.end(payload);
    return await reply;
  } finally {
    socket.destroy();
  }
}

export function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Polls `predicate` until it returns a truthy value; bounded by timeoutMs. */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 100, what = "condition" }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const suffix = lastError ? ` (last error: ${String(lastError)})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
