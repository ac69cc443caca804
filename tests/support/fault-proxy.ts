// A TCP proxy on loopback that can misbehave on command: drop every connection, stall (accept
// and hold bytes without forwarding them, like a dead NAT or a half-open link), or delay each
// chunk. Put it between an agent and the hub to see that agents recover and nothing hangs.
import net from "node:net";
import { LOOPBACK } from "./net.ts";

export type FaultMode = "pass" | "stall" | "delay";

export interface FaultProxy {
  port: number;
  /** http://127.0.0.1:PORT: what an agent is given as --hub. */
  url: string;
  /** Connections currently open through the proxy. */
  readonly openConnections: number;
  /** Connections accepted since the start. */
  readonly acceptedConnections: number;
  setMode(mode: FaultMode, options?: { delayMs?: number }): void;
  /** Destroys every open connection at once, as a network drop would (new ones are accepted). */
  dropAll(): void;
  /** While refusing, new connections are closed as soon as they arrive. */
  setRefusing(isRefusing: boolean): void;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  let mode: FaultMode = "pass";
  let delayMs = 0;
  let isRefusing = false;
  let accepted = 0;
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  /** Forwards `from` to `to` according to the current mode, checked per chunk. */
  function relay(from: net.Socket, to: net.Socket): void {
    from.on("data", (chunk: Buffer) => {
      if (mode === "stall") return; // swallowed: neither forwarded nor refused
      if (mode === "delay") {
        from.pause();
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk);
          from.resume();
        }, delayMs);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
    from.on("end", () => {
      if (mode !== "stall") to.end();
    });
  }

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    client.on("error", () => {});
    if (isRefusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: LOOPBACK, port: targetPort, allowHalfOpen: true });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    const pair = { client, upstream };
    pairs.add(pair);
    const forget = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", forget);
    upstream.on("close", forget);
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://${LOOPBACK}:${port}`,
    get openConnections() {
      return pairs.size;
    },
    get acceptedConnections() {
      return accepted;
    },
    setMode(next, options = {}) {
      mode = next;
      delayMs = options.delayMs ?? 0;
    },
    dropAll() {
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
    },
    setRefusing(value) {
      isRefusing = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of [...pairs]) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
