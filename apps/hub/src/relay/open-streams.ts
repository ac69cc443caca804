import type { ServiceTraffic } from "@private-connect/api";
import type { RelayMetrics } from "./relay-metrics.js";
import { RelayStream, type StreamEnd } from "./relay-stream.js";

/**
 * Every stream this hub relays, from its open until it closes: what the drain of a stopping hub
 * waits for, what /metrics counts, and the per-service traffic the dashboard shows. The hub that
 * holds a service's agent sees all of that service's streams, whichever hub they came through.
 */
export class OpenStreams {
  private readonly streams = new Set<RelayStream>();
  /** Bytes of closed streams by exposing agent and service. */
  private readonly closedBytesByService = new Map<string, number>();
  private onDrained: (() => void) | undefined;

  constructor(private readonly metrics: RelayMetrics) {}

  get size(): number {
    return this.streams.size;
  }

  /** A copy, so a caller may reset streams while it walks them. */
  list(): RelayStream[] {
    return [...this.streams];
  }

  /**
   * A new stream whose client end is `client`; `onClosed` runs once it has closed and been counted.
   * `clientMaxWindow` lowers the client end's window limit (a peer hub's OPEN says its agent's).
   */
  create(
    client: StreamEnd,
    service: string,
    options: { onClosed?: (closed: RelayStream) => void; clientMaxWindow?: number } = {},
  ): RelayStream {
    const { onClosed, clientMaxWindow } = options;
    const stream = new RelayStream(
      client,
      service,
      (closed) => {
        this.streams.delete(closed);
        const bytes = closed.bytesFromClient + closed.bytesFromServer;
        this.metrics.closedStreamBytes += bytes;
        if (closed.servingAgentId !== undefined) {
          const key = serviceKey(closed.servingAgentId, closed.service);
          this.closedBytesByService.set(key, (this.closedBytesByService.get(key) ?? 0) + bytes);
        }
        onClosed?.(closed);
        if (this.streams.size === 0) this.onDrained?.();
      },
      clientMaxWindow,
    );
    this.streams.add(stream);
    return stream;
  }

  /** Bytes relayed since the hub started, open streams included. */
  bytesRelayed(): number {
    let bytes = this.metrics.closedStreamBytes;
    for (const stream of this.streams) bytes += stream.bytesFromClient + stream.bytesFromServer;
    return bytes;
  }

  /**
   * A service's open streams (who reaches it, through which share) and the bytes relayed for it
   * since the hub started. Walks the open streams: asked per page view, not per frame.
   */
  describeServiceTraffic(agentId: string, serviceName: string): ServiceTraffic {
    let bytesRelayed = this.closedBytesByService.get(serviceKey(agentId, serviceName)) ?? 0;
    const streams: ServiceTraffic["streams"] = [];
    for (const stream of this.streams) {
      if (stream.servingAgentId !== agentId || stream.service !== serviceName) continue;
      const bytes = stream.bytesFromClient + stream.bytesFromServer;
      bytesRelayed += bytes;
      streams.push({ clientAgentId: stream.clientAgentId, shareId: stream.share?.id, bytes });
    }
    return { bytesRelayed, streams };
  }

  /** Resolves when the last stream closes, or after `timeoutMs`, whichever comes first. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.streams.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onDrained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function serviceKey(agentId: string, serviceName: string): string {
  return `${agentId}/${serviceName}`;
}
