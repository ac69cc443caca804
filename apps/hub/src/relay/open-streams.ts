import type { ServiceRef, ServiceTraffic } from "@private-connect/api";
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
   * Services' open streams (who reaches each, through which share; the `listed` largest of them)
   * and the bytes relayed for each since the hub started. One walk of the open streams for all
   * the services asked: asked per page view, not per frame.
   */
  describeServiceTraffic(services: ServiceRef[], listed: number): ServiceTraffic[] {
    const byService = new Map<string, ServiceTraffic>();
    for (const { agentId, serviceName } of services) {
      const key = serviceKey(agentId, serviceName);
      byService.set(key, { bytesRelayed: this.closedBytesByService.get(key) ?? 0, openStreams: 0, streams: [] });
    }
    for (const stream of this.streams) {
      if (stream.servingAgentId === undefined) continue;
      const traffic = byService.get(serviceKey(stream.servingAgentId, stream.service));
      if (traffic === undefined) continue;
      const bytes = stream.bytesFromClient + stream.bytesFromServer;
      traffic.bytesRelayed += bytes;
      traffic.openStreams += 1;
      traffic.streams.push({
        clientAgentId: stream.clientAgentId,
        shareId: stream.share?.id,
        bytes,
        isEndToEnd: stream.isEndToEnd,
      });
    }
    for (const traffic of byService.values())
      traffic.streams = traffic.streams.sort((a, b) => b.bytes - a.bytes).slice(0, listed);
    // A service asked twice shares one answer object: harmless, as answers are only read.
    return services.map(({ agentId, serviceName }) => byService.get(serviceKey(agentId, serviceName)) as ServiceTraffic);
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
