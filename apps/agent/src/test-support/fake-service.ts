// Fake services on loopback for the connect check probes' unit tests: each answers (or floods,
// or says nothing) as its test says, and records what the probe sent it.
import { connect, createServer, type Server, type Socket } from "node:net";
import { createDeadline } from "../check/deadline.js";
import type { Probe, ProbeResult } from "../check/probe.js";

export interface FakeService {
  port: number;
  /** Everything probes sent, all connections together. */
  received(): Buffer;
  close(): Promise<void>;
}

export async function startFakeService(onConnection: (socket: Socket, received: () => Buffer) => void): Promise<FakeService> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const received = () => Buffer.concat(chunks);
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    onConnection(socket, received);
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Runs `probe` against a fresh fake service, within `timeoutMs`, and says how long it took. */
export async function probeFake(
  probe: Probe,
  onConnection: (socket: Socket, received: () => Buffer) => void,
  options: { timeoutMs?: number; serviceName?: string } = {},
): Promise<ProbeResult & { elapsedMs: number; sent: Buffer }> {
  const service = await startFakeService(onConnection);
  try {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const opened = connect({ host: "127.0.0.1", port: service.port }, () => resolve(opened));
      opened.once("error", reject);
    });
    socket.on("error", () => {});
    const startedAt = performance.now();
    const result = await probe(socket, {
      deadline: createDeadline(options.timeoutMs ?? 2_000),
      ...(options.serviceName === undefined ? {} : { serviceName: options.serviceName }),
    });
    socket.destroy();
    return { ...result, elapsedMs: performance.now() - startedAt, sent: service.received() };
  } finally {
    await service.close();
  }
}

/**
 * Writes `chunk` over and over, as fast as the socket drains, until the peer goes or `maxBytes`
 * were sent; resolves with how many bytes were written.
 */
export function flood(socket: Socket, chunk: Buffer, maxBytes = 64 * 1024 * 1024): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    const write = () => {
      while (!socket.destroyed && written < maxBytes) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once("drain", write);
          return;
        }
      }
      resolve(written);
    };
    socket.once("close", () => resolve(written));
    write();
  });
}
