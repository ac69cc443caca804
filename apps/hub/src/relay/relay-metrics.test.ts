import { ResetCode } from "@private-connect/protocol";
import { describe, expect, it } from "vitest";
import {
  escapeLabelValue,
  type HubMetricsSnapshot,
  type MetricsSnapshot,
  RelayMetrics,
  renderHubsPrometheus,
  renderPrometheus,
  toHubMetricsSnapshot,
} from "./relay-metrics.js";

function liveSnapshot(): MetricsSnapshot {
  const metrics = new RelayMetrics();
  metrics.streamOpens = 7;
  metrics.authFailures = 2;
  metrics.connectionsRefused = 1;
  metrics.countRefusedOpen(ResetCode.SERVICE_NOT_FOUND);
  metrics.countRefusedOpen(ResetCode.SERVICE_NOT_FOUND);
  return { agentsOnline: 3, connections: 4, streamsOpen: 5, bytesRelayed: 1234, metrics };
}

function plainSnapshot(overrides: Partial<HubMetricsSnapshot> = {}): HubMetricsSnapshot {
  return {
    agentsOnline: 1,
    connections: 1,
    streamsOpen: 0,
    bytesRelayed: 0,
    streamOpens: 0,
    authFailures: 0,
    connectionsRefused: 0,
    opensRefused: {},
    ...overrides,
  };
}

/** Every `# HELP name` line's name, in order, repeats included. */
function helpNames(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("# HELP "))
    .map((line) => line.split(" ")[2] ?? "");
}

/** The sample lines of family `name` (not its HELP/TYPE). */
function samplesOf(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe("toHubMetricsSnapshot", () => {
  it("is numbers and records only, so it survives a JSON (IPC) round trip unchanged", () => {
    const plain = toHubMetricsSnapshot(liveSnapshot());
    expect(plain).toEqual({
      agentsOnline: 3,
      connections: 4,
      streamsOpen: 5,
      bytesRelayed: 1234,
      streamOpens: 7,
      authFailures: 2,
      connectionsRefused: 1,
      opensRefused: { service_not_found: 2 },
    });
    expect(JSON.parse(JSON.stringify(plain))).toEqual(plain);
  });
});

describe("renderPrometheus (one hub)", () => {
  it("has no hub label and no pc_hub_info outside a cluster", () => {
    const text = renderPrometheus(liveSnapshot());
    expect(text).not.toContain("hub=");
    expect(text).not.toContain("pc_hub_info");
    expect(text).toContain("pc_agents_online 3\n");
    expect(text).toContain('pc_stream_opens_refused_total{reason="service_not_found"} 2\n');
    expect(text).toContain("# TYPE pc_bytes_relayed_total counter\npc_bytes_relayed_total 1234\n");
    expect(text.endsWith("\n")).toBe(true);
  });

  it("labels every sample with the hub of a cluster, and says which hub in pc_hub_info", () => {
    const text = renderPrometheus(liveSnapshot(), "hub-a");
    expect(samplesOf(text, "pc_hub_info")).toEqual(['pc_hub_info{hub="hub-a"} 1']);
    expect(text).toContain('pc_stream_opens_refused_total{hub="hub-a",reason="service_not_found"} 2\n');
    const samples = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
    expect(samples.length).toBeGreaterThan(8);
    for (const sample of samples) expect(sample).toContain('hub="hub-a"');
    expect(text).not.toContain("pc_hub_workers");
  });
});

describe("renderHubsPrometheus (the workers of --workers)", () => {
  const hubs = [
    { hubId: "box-w0", snapshot: plainSnapshot({ agentsOnline: 2, opensRefused: { unavailable: 1 } }) },
    { hubId: "box-w1", snapshot: plainSnapshot({ agentsOnline: 5, opensRefused: { service_not_found: 3 } }) },
  ];

  it("gives each family's HELP and TYPE once, then every hub's samples together", () => {
    const text = renderHubsPrometheus(hubs, { answered: 2, missing: [] });
    const names = helpNames(text);
    expect(names).toEqual([...new Set(names)]);
    expect(names).toContain("pc_agents_online");
    expect(text.match(/^# TYPE pc_agents_online gauge$/gm)).toHaveLength(1);
    expect(samplesOf(text, "pc_hub_info")).toEqual(['pc_hub_info{hub="box-w0"} 1', 'pc_hub_info{hub="box-w1"} 1']);
    expect(samplesOf(text, "pc_agents_online")).toEqual(['pc_agents_online{hub="box-w0"} 2', 'pc_agents_online{hub="box-w1"} 5']);
    expect(samplesOf(text, "pc_stream_opens_refused_total")).toEqual([
      'pc_stream_opens_refused_total{hub="box-w0",reason="unavailable"} 1',
      'pc_stream_opens_refused_total{hub="box-w1",reason="service_not_found"} 3',
    ]);
    // The text format wants a family's lines contiguous: no sample after the next family's HELP.
    const lines = text.trimEnd().split("\n");
    const familyOfLine = lines.map((line) => (line.startsWith("# HELP ") ? line.split(" ")[2] : undefined));
    let current: string | undefined;
    for (const [index, line] of lines.entries()) {
      current = familyOfLine[index] ?? current;
      if (!line.startsWith("#")) expect(line.split(/[{ ]/)[0], line).toBe(current);
    }
  });

  it("counts the workers that answered and those missing, and names the missing in a comment", () => {
    const text = renderHubsPrometheus(hubs.slice(0, 1), { answered: 1, missing: ["box-w1"] });
    expect(samplesOf(text, "pc_hub_workers")).toEqual([
      'pc_hub_workers{state="answered"} 1',
      'pc_hub_workers{state="missing"} 1',
    ]);
    expect(samplesOf(text, "pc_hub_info")).toEqual(['pc_hub_info{hub="box-w0"} 1']);
    expect(text).not.toContain('hub="box-w1"');
    expect(text).toContain("# hub worker box-w1 did not answer in time");
  });

  it("escapes backslashes, double quotes and newlines in label values", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const text = renderHubsPrometheus([{ hubId: 'odd"hub\\', snapshot: plainSnapshot({ opensRefused: { "line\nbreak": 1 } }) }]);
    expect(text).toContain('pc_hub_info{hub="odd\\"hub\\\\"} 1\n');
    expect(text).toContain('pc_stream_opens_refused_total{hub="odd\\"hub\\\\",reason="line\\nbreak"} 1\n');
    // No raw newline inside a sample: every line is a comment or a whole sample.
    for (const line of text.trimEnd().split("\n")) expect(line).toMatch(/^(#|pc_[a-z_]+(\{.*\})? \d+$)/);
  });

  it("still names every family when no hub answered", () => {
    const text = renderHubsPrometheus([], { answered: 0, missing: ["box-w0", "box-w1"] });
    expect(helpNames(text)).toContain("pc_agents_online");
    expect(samplesOf(text, "pc_agents_online")).toEqual([]);
    expect(samplesOf(text, "pc_hub_workers")).toContain('pc_hub_workers{state="missing"} 2');
  });
});
