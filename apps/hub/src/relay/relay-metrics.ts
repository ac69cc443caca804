import { ResetCode } from "@private-connect/protocol";

const resetReasons: Record<number, string> = Object.fromEntries(
  Object.entries(ResetCode).map(([name, code]) => [code, name.toLowerCase()]),
);

/** Counters the relay keeps for /metrics. Plain numbers: updating one costs nothing. */
export class RelayMetrics {
  streamOpens = 0;
  authFailures = 0;
  connectionsRefused = 0;
  /** Bytes of streams that have closed; open streams add their own when scraped. */
  closedStreamBytes = 0;
  readonly opensRefused = new Map<string, number>();

  countRefusedOpen(code: number): void {
    const reason = resetReasons[code] ?? "other";
    this.opensRefused.set(reason, (this.opensRefused.get(reason) ?? 0) + 1);
  }
}

export interface MetricsSnapshot {
  agentsOnline: number;
  connections: number;
  streamsOpen: number;
  bytesRelayed: number;
  metrics: RelayMetrics;
}

/** Prometheus text exposition format, version 0.0.4. */
export function renderPrometheus(snapshot: MetricsSnapshot, hubId?: string): string {
  const lines: string[] = [];
  // Every sample says which hub it is of: with several hubs, each one's /metrics is its own.
  const hubLabel = hubId === undefined ? "" : `hub="${hubId.replace(/["\\\n]/g, "_")}"`;
  const withHub = (labels: string) => {
    if (hubLabel === "") return labels;
    return labels === "" ? `{${hubLabel}}` : `{${hubLabel},${labels.slice(1)}`;
  };
  const metric = (name: string, type: "gauge" | "counter", help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${withHub(labels)} ${value}`);
  };
  if (hubId !== undefined) metric("pc_hub_info", "gauge", "This hub's id in its cluster.", [["", 1]]);
  const { metrics } = snapshot;
  metric("pc_agents_online", "gauge", "Agents connected to this hub.", [["", snapshot.agentsOnline]]);
  metric("pc_relay_connections", "gauge", "Relay WebSocket connections, including those in their handshake.", [
    ["", snapshot.connections],
  ]);
  metric("pc_streams_open", "gauge", "Relayed streams open now.", [["", snapshot.streamsOpen]]);
  metric("pc_bytes_relayed_total", "counter", "Payload bytes relayed in both directions.", [["", snapshot.bytesRelayed]]);
  metric("pc_stream_opens_total", "counter", "Stream opens requested by agents.", [["", metrics.streamOpens]]);
  metric(
    "pc_stream_opens_refused_total",
    "counter",
    "Stream opens refused, by reason.",
    [...metrics.opensRefused].map(([reason, count]) => [`{reason="${reason}"}`, count]),
  );
  metric("pc_auth_failures_total", "counter", "Relay connections refused for bad or expired credentials.", [
    ["", metrics.authFailures],
  ]);
  metric("pc_relay_connections_refused_total", "counter", "Relay connections refused by a limit or shutdown.", [
    ["", metrics.connectionsRefused],
  ]);
  return `${lines.join("\n")}\n`;
}
