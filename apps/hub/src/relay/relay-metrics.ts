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

/**
 * One hub's figures as numbers and records only: what a --workers worker sends its primary over
 * the cluster IPC channel (structured clone would keep a Map, JSON serialization would not).
 */
export interface HubMetricsSnapshot {
  agentsOnline: number;
  connections: number;
  streamsOpen: number;
  bytesRelayed: number;
  streamOpens: number;
  authFailures: number;
  connectionsRefused: number;
  /** Refused stream opens by reason (service_not_found, ...). */
  opensRefused: Record<string, number>;
}

export function toHubMetricsSnapshot(snapshot: MetricsSnapshot): HubMetricsSnapshot {
  const { metrics } = snapshot;
  return {
    agentsOnline: snapshot.agentsOnline,
    connections: snapshot.connections,
    streamsOpen: snapshot.streamsOpen,
    bytesRelayed: snapshot.bytesRelayed,
    streamOpens: metrics.streamOpens,
    authFailures: metrics.authFailures,
    connectionsRefused: metrics.connectionsRefused,
    opensRefused: Object.fromEntries(metrics.opensRefused),
  };
}

/** A hub's snapshot under its HUB_ID, the `hub` label of its samples. */
export interface HubMetrics {
  hubId: string;
  snapshot: HubMetricsSnapshot;
}

/** Which workers of a --workers hub are in a scrape: those that answered, and those left out. */
export interface WorkersReport {
  answered: number;
  /** HUB_IDs of workers that did not answer in time (restarting, starting, or stuck). */
  missing: string[];
}

type Labels = [name: string, value: string][];

interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples(snapshot: HubMetricsSnapshot): [Labels, number][];
}

const families: Family[] = [
  { name: "pc_agents_online", type: "gauge", help: "Agents connected to this hub.", samples: (s) => [[[], s.agentsOnline]] },
  {
    name: "pc_relay_connections",
    type: "gauge",
    help: "Relay WebSocket connections, including those in their handshake.",
    samples: (s) => [[[], s.connections]],
  },
  { name: "pc_streams_open", type: "gauge", help: "Relayed streams open now.", samples: (s) => [[[], s.streamsOpen]] },
  {
    name: "pc_bytes_relayed_total",
    type: "counter",
    help: "Payload bytes relayed in both directions.",
    samples: (s) => [[[], s.bytesRelayed]],
  },
  {
    name: "pc_stream_opens_total",
    type: "counter",
    help: "Stream opens requested by agents.",
    samples: (s) => [[[], s.streamOpens]],
  },
  {
    name: "pc_stream_opens_refused_total",
    type: "counter",
    help: "Stream opens refused, by reason.",
    samples: (s) => Object.entries(s.opensRefused).map(([reason, count]) => [[["reason", reason]], count]),
  },
  {
    name: "pc_auth_failures_total",
    type: "counter",
    help: "Relay connections refused for bad or expired credentials.",
    samples: (s) => [[[], s.authFailures]],
  },
  {
    name: "pc_relay_connections_refused_total",
    type: "counter",
    help: "Relay connections refused by a limit or shutdown.",
    samples: (s) => [[[], s.connectionsRefused]],
  },
];

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatSample(name: string, labels: Labels, value: number): string {
  if (labels.length === 0) return `${name} ${value}`;
  const text = labels.map(([label, labelValue]) => `${label}="${escapeLabelValue(labelValue)}"`).join(",");
  return `${name}{${text}} ${value}`;
}

/**
 * Prometheus text exposition format, version 0.0.4, for the hubs given (one, or every worker of
 * a --workers hub). Each family's HELP and TYPE come once, then every hub's samples, in the
 * order given: the format wants a family's samples together, not one block per hub.
 * `hubId` undefined (a lone hub outside a cluster, only as the one entry) means no hub label.
 */
function renderExposition(
  hubs: readonly { hubId: string | undefined; snapshot: HubMetricsSnapshot }[],
  workers?: WorkersReport,
): string {
  const lines: string[] = [];
  const family = (name: string, type: Family["type"], help: string, samples: [Labels, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(formatSample(name, labels, value));
  };
  const labelled = hubs.flatMap(({ hubId }) => (hubId === undefined ? [] : [hubId]));
  // Every sample says which hub it is of, and pc_hub_info which hubs answered.
  if (labelled.length > 0) {
    family(
      "pc_hub_info",
      "gauge",
      "This hub's id in its cluster.",
      labelled.map((hubId) => [[["hub", hubId]], 1]),
    );
  }
  if (workers) {
    family("pc_hub_workers", "gauge", "Workers of this --workers hub, by whether their samples are in this scrape.", [
      [[["state", "answered"]], workers.answered],
      [[["state", "missing"]], workers.missing.length],
    ]);
  }
  for (const { name, type, help, samples } of families) {
    family(
      name,
      type,
      help,
      hubs.flatMap(({ hubId, snapshot }) =>
        samples(snapshot).map(([labels, value]): [Labels, number] => [
          hubId === undefined ? labels : [["hub", hubId], ...labels],
          value,
        ]),
      ),
    );
  }
  // A comment (scrapers skip it) names the absent workers for whoever reads the page.
  for (const hubId of workers?.missing ?? []) {
    lines.push(`# hub worker ${hubId.replace(/\s/g, "_")} did not answer in time: its samples are left out of this scrape`);
  }
  return `${lines.join("\n")}\n`;
}

/** One hub's /metrics: with `hubId` (a hub of a cluster) every sample carries hub="<hubId>". */
export function renderPrometheus(snapshot: MetricsSnapshot, hubId?: string): string {
  return renderExposition([{ hubId, snapshot: toHubMetricsSnapshot(snapshot) }]);
}

/** Several hubs' samples (the workers of a --workers hub) in one exposition, each under its hub label. */
export function renderHubsPrometheus(hubs: readonly HubMetrics[], workers?: WorkersReport): string {
  return renderExposition(hubs, workers);
}
