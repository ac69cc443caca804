// Markdown tables, target verdicts and the JSON document of one run.
import { fmt, table } from "./format.mjs";
import { relaySpeedTargets } from "./relay-speed-targets.mjs";
import { smallMessageLines, smallMessageTargets } from "./small-messages-report.mjs";
import { GB, KiB, MB, MiB } from "./stats.mjs";
import { startSpread } from "./workloads.mjs";

const ROLE_ORDER = ["reach", "hub", "expose"];
const ms = (value) => fmt(value, 3);
const signed = (value) => (value === undefined || Number.isNaN(value) ? "–" : `${value >= 0 ? "+" : ""}${value.toFixed(3)}`);

function roleLabel(result, role) {
  return result.labels?.[role] ?? role;
}

function failure(result, workload) {
  const message = result.error ?? result.errors?.[workload];
  return message ? `failed: ${String(message).split("\n")[0].slice(0, 120)}` : undefined;
}

export function renderMarkdown(doc) {
  const out = [];
  const { machine } = doc;
  const names = Object.keys(doc.contenders);
  const get = (name) => doc.contenders[name];
  /** Contenders that took part in a workload (a reference contender measures only some). */
  const namesFor = (workload) => names.filter((name) => get(name).workloads?.includes(workload) ?? true);
  out.push(`# Relay benchmark: ${doc.startedAt}`);
  out.push("");
  out.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, ${machine.ssh}, ${machine.socat}.`,
  );
  out.push(
    `Run: ${doc.options.quick ? "quick" : "full"} (${doc.options.only.join(", ")}), took ${fmt(doc.durationSeconds, 0)} s. 1 MB = 10^6 bytes, 1 GB = 10^9 bytes, 1 KiB = 1024 bytes.`,
  );
  if (machine.loadAverageStart)
    out.push(
      `Load average (1/5/15 min) at start ${machine.loadAverageStart.join(" ")}, at end ${machine.loadAverageEnd?.join(" ") ?? "–"}.`,
    );
  for (const note of doc.notes) out.push(`Note: ${note}`);
  out.push("");
  const noisy = [];
  for (const name of names) {
    for (const key of ["throughput", "rtt", "setup", "memory", "slowReader"]) {
      const share = get(name)[key]?.foreignCpuShare;
      if (share !== undefined && share > 0.1) noisy.push(`${get(name).title} ${key} ${(share * 100).toFixed(0)}%`);
    }
  }
  if (noisy.length > 0) {
    out.push(
      `**Warning: other processes on this machine used a sizeable share of its CPU during some measurements** (${noisy.join(", ")}); those numbers are noisy. The table at the end has the share for every measurement.`,
    );
    out.push("");
  }

  if (doc.options.only.includes("throughput")) {
    out.push(
      `## 1. Bulk throughput (MB/s; mean of ${doc.options.throughputReps} x ${doc.options.throughputMs / 1000} s${doc.options.repeat > 1 ? ` on each of ${doc.options.repeat} fresh instances of each Private Connect contender${doc.options.referenceRepeat > 1 ? " and of the others" : ""}` : ""}${doc.options.throughputReps * doc.options.repeat > 1 ? ", range in brackets" : ""})`,
    );
    out.push("");
    const ssh = get("ssh")?.throughput;
    const rows = namesFor("throughput").map((name) => {
      const r = get(name);
      const t = r.throughput;
      if (!t) return [r.title, failure(r, "throughput") ?? "–", "", "", "", ""];
      const ratio = (key) => (ssh?.[key] && t[key] ? `${fmt(t[key].mbps / ssh[key].mbps, 2)}x` : "–");
      const cell = (k) => {
        if (!t[k]) return "–";
        return t[k].runs?.length > 1 ? `${fmt(t[k].mbps)} (${fmt(t[k].minMbps, 0)}–${fmt(t[k].maxMbps, 0)})` : fmt(t[k].mbps);
      };
      return [r.title, cell("up1"), cell("down1"), cell("up4"), cell("down4"), `${ratio("up1")} / ${ratio("down1")}`];
    });
    out.push(
      table(["contender", "1 stream up", "1 stream down", "4 streams up", "4 streams down", "1 stream vs SSH (up / down)"], rows),
    );
    out.push("");
    out.push(...freshStartLines(doc));
    const pipes = nodePipeLines(doc);
    if (pipes) {
      out.push(pipes);
      out.push("");
    }
    out.push(
      "CPU seconds per GB moved, per process of the contender (load generators excluded); for Private Connect, the full (mark-compact) garbage collections the process ran during the measurement:",
    );
    out.push("");
    const cpuRows = [];
    const cases = ["up1", "down1", "up4", "down4"];
    for (const name of namesFor("throughput")) {
      const r = get(name);
      const t = r.throughput;
      if (!t) continue;
      const roles = ROLE_ORDER.filter((role) => role in t.up1.cpuSecondsPerGb);
      if (roles.length === 0) continue;
      for (const role of roles) {
        cpuRows.push([
          r.title,
          roleLabel(r, role),
          ...cases.map((k) => {
            if (!t[k]) return "–";
            const fullGcs = t[k].fullGcs?.[role];
            return `${fmt(t[k].cpuSecondsPerGb[role], 2)}${fullGcs === undefined ? "" : ` (${fullGcs} full GC)`}`;
          }),
        ]);
      }
      const total = (k) => roles.reduce((sum, role) => sum + t[k].cpuSecondsPerGb[role], 0);
      cpuRows.push([r.title, "**all**", ...cases.map((k) => (t[k] ? `**${fmt(total(k), 2)}**` : "–"))]);
    }
    out.push(table(["contender", "process", "1 up", "1 down", "4 up", "4 down"], cpuRows));
    out.push("");
  }

  if (doc.options.only.includes("rtt")) {
    out.push(`## 2. Round trip of a 64-byte ping-pong (ms, ${doc.options.rttCount} round trips; "added" = minus direct's)`);
    out.push("");
    const base = get("direct")?.rtt;
    const rows = namesFor("rtt").map((name) => {
      const r = get(name);
      const t = r.rtt;
      if (!t) return [r.title, failure(r, "rtt") ?? "–", "", "", "", "", "", ""];
      const pair = (s) => `${ms(s.p50)} / ${ms(s.p99)}`;
      const added = (s, b) => (b ? `${signed(s.p50 - b.p50)} / ${signed(s.p99 - b.p99)}` : "–");
      return [
        r.title,
        pair(t.idle),
        added(t.idle, base?.idle),
        pair(t.loaded.upload),
        added(t.loaded.upload, base?.loaded.upload),
        pair(t.loaded.download),
        added(t.loaded.download, base?.loaded.download),
        `${fmt(t.loaded.upload.bulkMbps, 0)} / ${fmt(t.loaded.download.bulkMbps, 0)}`,
      ];
    });
    out.push(
      table(
        [
          "contender",
          "idle p50 / p99",
          "added idle p50 / p99",
          "with bulk up p50 / p99",
          "added",
          "with bulk down p50 / p99",
          "added",
          "bulk MB/s meanwhile (up / down)",
        ],
        rows,
      ),
    );
    out.push("");
  }

  if (doc.options.only.includes("setup")) {
    out.push(`## 3. Setup: connect to first echoed byte (ms, ${doc.options.setupCount} connections)`);
    out.push("");
    const rows = namesFor("setup").map((name) => {
      const r = get(name);
      const t = r.setup;
      if (!t) return [r.title, failure(r, "setup") ?? "–", "", "", "", "", "", ""];
      return [
        r.title,
        ms(t.sequential.p50),
        ms(t.sequential.p99),
        String(t.sequential.errors),
        fmt(t.concurrent.totalMs, 0),
        ms(t.concurrent.open_p50),
        ms(t.concurrent.open_p99),
        `${t.concurrent.errors}${t.concurrent.errorKinds?.length ? ` (${t.concurrent.errorKinds.join(", ")})` : ""}`,
      ];
    });
    out.push(
      table(
        [
          "contender",
          "sequential p50",
          "sequential p99",
          "errors",
          "all concurrent opened in",
          "concurrent p50",
          "concurrent p99",
          "errors",
        ],
        rows,
      ),
    );
    out.push("");
  }

  if (doc.options.only.includes("memory")) {
    out.push("## 4. Memory per open idle stream (KiB per stream: RSS growth over the baseline / streams held)");
    out.push("");
    out.push(
      'PSS in square brackets where a side is several processes. For Private Connect, "after GC" is the same reading after a full garbage collection in each process (SIGUSR2 with the bench\'s gc-hook preloaded), and "left after close" is what remains once every stream is closed (divided by the streams that were open): memory retained by the process, not held per stream.',
    );
    out.push("");
    const rows = [];
    for (const name of namesFor("memory")) {
      const r = get(name);
      const t = r.memory;
      if (!t) {
        rows.push([r.title, failure(r, "memory") ?? "–", "", "", "", ""]);
        continue;
      }
      const cellFor = (stage) => (role) => {
        const p = stage.perStream[role];
        if (!p) return "–";
        const showPss = p.processes > 1;
        let text = `${fmt(p.rssBytes / KiB, 2)}${showPss ? ` [${fmt(p.pssBytes / KiB, 2)}]` : ""}`;
        const gc = stage.perStreamAfterGc?.[role];
        if (gc) text += `; after GC ${fmt(gc.rssBytes / KiB, 2)}`;
        return `${text} (${roleLabel(r, role)}${showPss ? `, ${p.processes} procs` : ""})`;
      };
      for (const stage of t.stages) {
        const cell = cellFor(stage);
        rows.push([
          r.title,
          String(stage.target),
          `${stage.held} / ${stage.openErrors} / ${stage.dropped}${stage.cappedAtMs ? `, stopped opening after ${stage.cappedAtMs / 1000} s` : ""}${stage.errorKinds?.length ? ` (${stage.errorKinds.join(", ")})` : ""}`,
          cell("hub"),
          cell("reach"),
          cell("expose"),
        ]);
      }
      if (t.residualAfterClose && Object.keys(t.residualAfterClose).length > 0 && r.labels?.hub === "hub") {
        const res = (role) => (t.residualAfterClose[role] ? fmt(t.residualAfterClose[role].rssBytes / KiB, 2) : "–");
        rows.push([r.title, "left after close", "", res("hub"), res("reach"), res("expose")]);
      }
      if (t.skipped) rows.push([r.title, t.skipped.counts.join(", "), `not attempted: ${t.skipped.reason}`, "", "", ""]);
    }
    out.push(table(["contender", "streams", "open / errors / dropped", "hub side", "reach side", "expose side"], rows));
    out.push("");
  }

  if (doc.options.only.includes("slow")) {
    out.push(`## 5. Slow reader (1 MB/s for ${doc.options.slowMs / 1000} s against a fast writer; RSS sampled every 100 ms)`);
    out.push("");
    const rows = namesFor("slow").map((name) => {
      const r = get(name);
      const t = r.slowReader;
      if (!t) return [r.title, failure(r, "slow") ?? "–", "", "", "", "", ""];
      const cell = (role) => {
        const m = t.roles[role];
        return m ? `${fmt(m.growth / MiB, 2)} (peak ${fmt(m.peak / MiB, 0)})` : "–";
      };
      return [
        r.title,
        fmt(t.readBytes / MB, 1),
        fmt(t.writtenBytes / MB, 1),
        fmt(t.inFlightBytes / MiB, 2),
        cell("hub"),
        cell("reach"),
        cell("expose"),
      ];
    });
    out.push(
      table(
        [
          "contender",
          "read MB",
          "writer pushed MB",
          "in flight MiB",
          "hub side growth MiB (peak)",
          "reach side growth MiB (peak)",
          "expose side growth MiB (peak)",
        ],
        rows,
      ),
    );
    out.push("");
  }

  if (doc.cluster) {
    out.push(...clusterLines(doc));
    out.push("");
  }

  const e2e = endToEndLines(doc);
  if (e2e.length > 0) {
    out.push(...e2e);
    out.push("");
  }

  const small = smallMessageLines(doc);
  if (small.length > 0) {
    out.push(...small);
    out.push("");
  }

  // The cluster shapes report other load in their own tables; this one is per contender.
  if (names.length > 0) out.push(...otherLoadLines(doc));
  out.push("## How to read this");
  out.push("");
  for (const line of [
    "Every process (load generators, relays, hub, agents) shares the same cores, so the contenders' own CPU use limits their throughput and latency; CPU per GB is the fairer efficiency figure.",
    "Added RTT under load subtracts direct TCP's figure measured the same way (a bulk stream between the same two load processes), so it is the relay's own contribution; negative means within noise.",
    "SSH's ~43 ms setup is out-of-the-box OpenSSH behaviour here, consistent with Nagle meeting 40 ms delayed ACKs (OpenSSH sets TCP_NODELAY only for interactive sessions, and -N has none).",
    "socat forks a process per connection and hop; their RSS counts shared pages once per process, so PSS is the fair memory figure for socat.",
  ])
    out.push(`- ${line}`);
  out.push("");
  out.push("## Targets (ratios from this run)");
  out.push("");
  for (const target of doc.targets)
    out.push(`- ${target.pass === undefined ? "N/A " : target.pass ? "PASS" : "FAIL"} ${target.name}: ${target.detail}`);
  out.push("");
  return out.join("\n");
}

/**
 * Issue 22: each Private Connect contender's one-stream throughput per fresh start, slowest,
 * median and fastest, with the full GCs each start ran, so a bimodal result shows.
 */
function freshStartLines(doc) {
  const rows = [];
  for (const result of Object.values(doc.contenders)) {
    const t = result.throughput;
    if (!t?.up1 || !t.down1 || (t.instances ?? 1) < 2) continue;
    const cell = (key) => {
      const spread = startSpread(t[key]);
      return `${fmt(spread.min)} / ${fmt(spread.median)} / ${fmt(spread.max)} (${fmt(spread.max / spread.min, 2)}x)`;
    };
    const gcs = (key) =>
      startSpread(t[key])
        .fullGcs.map((counts) => (counts ? Object.values(counts).reduce((sum, n) => sum + n, 0) : "–"))
        .join(", ");
    rows.push([result.title, String(t.instances), cell("up1"), cell("down1"), `${gcs("up1")} / ${gcs("down1")}`]);
  }
  if (rows.length === 0) return [];
  return [
    "Fresh starts (issue 22): one stream's MB/s per start of the contender, slowest / median / fastest (fastest over slowest); the targets hold for the slowest:",
    "",
    table(["contender", "starts", "1 stream up", "1 stream down", "full GCs per start (hub and agents; up / down)"], rows),
    "",
  ];
}

/**
 * How each Node pipe compares with the SSH tunnel of the same run, and Private Connect with the
 * pipe under it (ws:// on the TCP pipe, wss:// on the TLS pipe).
 */
function nodePipeLines(doc) {
  const get = (name) => doc.contenders[name]?.throughput;
  const ssh = get("ssh");
  const pair = (a, b) => `${fmt(a.up1.mbps / b.up1.mbps, 2)}x / ${fmt(a.down1.mbps / b.down1.mbps, 2)}x`;
  const lines = [];
  for (const [pipe, pc, link, scheme] of [
    ["node-tcp", "pc-ws", "TCP", "ws://"],
    ["node-tls", "pc-wss", "TLS", "wss://"],
  ]) {
    const floor = get(pipe);
    if (!floor?.up1 || !floor?.down1) continue;
    const parts = [
      `Node ${link} pipe: ${ssh?.up1 && ssh?.down1 ? `${pair(floor, ssh)} the SSH tunnel` : "no SSH figure to compare"}`,
    ];
    const relay = get(pc);
    if (relay?.up1 && relay?.down1) parts.push(`Private Connect ${scheme} ${pair(relay, floor)} the pipe`);
    lines.push(`- ${parts.join("; ")} (up / down).`);
  }
  if (lines.length === 0) return undefined;
  return [
    "The Node pipes are three bare Node processes piping sockets in the same shape (plain TCP or Node's built-in TLS between them) with nothing else: no framing, flow control or authentication. They show what Node's sockets and TLS cost on this machine.",
    "",
    ...lines,
  ].join("\n");
}

/** Per contender and measurement: the share of all cores other processes used meanwhile. */
function otherLoadLines(doc) {
  const out = ["## Other load on the machine", ""];
  const names = Object.keys(doc.contenders);
  const get = (name) => doc.contenders[name];

  out.push(
    "Share of all cores used by processes outside the bench (machine busy time minus the contender's and the load generators' processes) during each measurement:",
  );
  out.push("");
  const keys = [
    ["throughput", "throughput"],
    ["rtt", "rtt"],
    ["setup", "setup"],
    ["memory", "memory"],
    ["slowReader", "slow"],
  ].filter(([, w]) => doc.options.only.includes(w));
  out.push(
    table(
      ["contender", ...keys.map(([, w]) => w)],
      names.map((name) => [
        get(name).title,
        ...keys.map(([k]) => {
          const share = get(name)[k]?.foreignCpuShare;
          return share === undefined ? "–" : `${(share * 100).toFixed(0)}%`;
        }),
      ]),
    ),
  );
  out.push("");
  return out;
}

/** Issue 19's targets: what end-to-end encryption may cost against the same relay in plaintext. */
export const E2E_TARGETS = { maxThroughputCost: 0.1, maxAddedSetupP50Ms: 1 };
const THROUGHPUT_CASES = [
  ["up1", "1 stream up"],
  ["down1", "1 stream down"],
  ["up4", "4 streams up"],
  ["down4", "4 streams down"],
];

/** pc-ws-e2e against pc-ws: throughput ratio per case, CPU per GB, added setup time. */
function endToEndLines(doc) {
  const plain = doc.contenders["pc-ws"];
  const e2e = doc.contenders["pc-ws-e2e"];
  if (!plain || !e2e) return [];
  const out = [
    "## 7. End-to-end encryption (issue 19): Private Connect ws:// end-to-end encrypted against the plaintext relay (--e2e off)",
    "",
  ];
  const checks = e2e.security?.afterMeasurements ?? [];
  out.push(
    e2e.security
      ? `Both agents reported \`security.isEndToEnd: true\` for the reach and the exposure after the first stream and after ${checks.length} measurement phase(s)${plain.security ? "; the plaintext contender's agents reported false" : ""}. Targets: at most ${E2E_TARGETS.maxThroughputCost * 100}% of single-stream throughput, at most ${E2E_TARGETS.maxAddedSetupP50Ms} ms added to setup p50.`
      : `The end-to-end contender did not confirm its streams were end to end: ${failure(e2e, "throughput") ?? failure(e2e, "setup") ?? "no check recorded"}`,
  );
  out.push("");
  const a = plain.throughput;
  const b = e2e.throughput;
  if (doc.options.only.includes("throughput") && a && b) {
    const cpu = (t) => Object.values(t.cpuSecondsPerGb).reduce((sum, v) => sum + v, 0);
    const rows = THROUGHPUT_CASES.filter(([k]) => a[k] && b[k]).map(([k, label]) => {
      const ratio = b[k].mbps / a[k].mbps;
      return [
        label,
        fmt(a[k].mbps),
        fmt(b[k].mbps),
        `${fmt(ratio, 3)}x (${ratio <= 1 ? "-" : "+"}${fmt(Math.abs(1 - ratio) * 100, 1)}%)`,
        `${fmt(cpu(a[k]), 2)} / ${fmt(cpu(b[k]), 2)}`,
        ["reach", "expose"]
          .map((role) => `${fmt(a[k].cpuSecondsPerGb[role], 2)} → ${fmt(b[k].cpuSecondsPerGb[role], 2)}`)
          .join("; "),
      ];
    });
    out.push(
      table(
        [
          "case",
          "plaintext MB/s",
          "E2E MB/s",
          "E2E / plaintext",
          "CPU s/GB, all processes (plaintext / E2E)",
          "agents' CPU s/GB (reach; expose)",
        ],
        rows,
      ),
    );
    out.push("");
  }
  const sa = plain.setup;
  const sb = e2e.setup;
  if (doc.options.only.includes("setup") && sa && sb) {
    const added = (x, y) => signed(y - x);
    out.push(
      table(
        ["setup (ms)", "plaintext", "E2E", "added by E2E"],
        [
          ["sequential p50", ms(sa.sequential.p50), ms(sb.sequential.p50), added(sa.sequential.p50, sb.sequential.p50)],
          ["sequential p99", ms(sa.sequential.p99), ms(sb.sequential.p99), added(sa.sequential.p99, sb.sequential.p99)],
          [
            `${doc.options.setupCount} concurrent opens, all in`,
            fmt(sa.concurrent.totalMs, 0),
            fmt(sb.concurrent.totalMs, 0),
            signed(sb.concurrent.totalMs - sa.concurrent.totalMs),
          ],
        ],
      ),
    );
    out.push("");
  }
  out.push(
    "Each contender is a fresh hub and two agents per start (three starts by default); throughput varies between starts, so the ratios compare the means of all starts.",
  );
  return out;
}

/** Issue 19's targets from pc-ws-e2e and pc-ws of this run (when both ran). */
function endToEndTargets(doc) {
  const plain = doc.contenders["pc-ws"];
  const e2e = doc.contenders["pc-ws-e2e"];
  if (!e2e) return [];
  const targets = [];
  const only = doc.options.only;
  const why = (workload) =>
    !plain ? "pc-ws not in this run" : (failure(e2e, workload) ?? failure(plain, workload) ?? `${workload} failed`);
  if (only.includes("throughput")) {
    for (const [key, label] of [
      ["up1", "upload"],
      ["down1", "download"],
    ]) {
      const entry = {
        name: `pc-ws-e2e single-stream ${label} costs <= ${E2E_TARGETS.maxThroughputCost * 100}% of pc-ws's (>= ${1 - E2E_TARGETS.maxThroughputCost}x)`,
      };
      const a = plain?.throughput?.[key];
      const b = e2e.throughput?.[key];
      if (!a || !b) Object.assign(entry, { pass: undefined, detail: `not measured (${why("throughput")})` });
      else {
        const ratio = b.mbps / a.mbps;
        Object.assign(entry, {
          pass: ratio >= 1 - E2E_TARGETS.maxThroughputCost,
          ratio,
          detail: `${fmt(b.mbps)} vs ${fmt(a.mbps)} MB/s = ${fmt(ratio, 3)}x (cost ${fmt((1 - ratio) * 100, 1)}%)`,
        });
      }
      targets.push(entry);
    }
  }
  if (only.includes("setup")) {
    const entry = { name: `pc-ws-e2e setup p50 <= pc-ws's + ${E2E_TARGETS.maxAddedSetupP50Ms} ms` };
    const a = plain?.setup;
    const b = e2e.setup;
    if (!a || !b) Object.assign(entry, { pass: undefined, detail: `not measured (${why("setup")})` });
    else {
      const added = b.sequential.p50 - a.sequential.p50;
      Object.assign(entry, {
        pass: added <= E2E_TARGETS.maxAddedSetupP50Ms,
        value: added,
        detail: `${signed(added)} ms (p50 ${ms(b.sequential.p50)} vs ${ms(a.sequential.p50)} ms); p99 added ${signed(b.sequential.p99 - a.sequential.p99)} ms`,
      });
    }
    targets.push(entry);
  }
  return targets;
}

const CLUSTER_CASES = [
  ["up1", "1 stream up"],
  ["down1", "1 stream down"],
  ["up4", "4 streams up"],
  ["down4", "4 streams down"],
];

/** Issue 17's shapes: one stream across two hubs against one hub; 8 pairs through --workers 2 against 1. */
function clusterLines(doc) {
  const out = [];
  const { cross, workers } = doc.cluster;
  out.push("## 6. Cluster (issue 17): hubs sharing one Redis and one PostgreSQL database");
  out.push("");
  out.push(
    `Every hub, agent and load generator shares this machine's ${doc.machine.cores} cores: the figures say what the cluster costs on one machine, not what separate machines would give. Hub CPU is read from /proc (every process of the hub).`,
  );
  out.push("");
  if (cross) {
    out.push(
      "### 6a. One stream across two hubs against one hub (ws://, one cluster: the exposing agent on hub B; reaching agent on hub B = one hub, on hub A = two hubs)",
    );
    out.push("");
    if (cross.error) out.push(`failed: ${String(cross.error).split("\n")[0].slice(0, 300)}`);
    else {
      const single = cross.single.throughput;
      const two = cross.cross.throughput;
      const cell = (t, k) =>
        t?.[k]
          ? t[k].runs?.length > 1
            ? `${fmt(t[k].mbps)} (${fmt(t[k].minMbps, 0)}–${fmt(t[k].maxMbps, 0)})`
            : fmt(t[k].mbps)
          : "–";
      const ratio = (k) => (single?.[k] && two?.[k] ? `${fmt(two[k].mbps / single[k].mbps, 2)}x` : "–");
      const cpu = (t, k) => {
        if (!t?.[k]) return "–";
        const total = Object.values(t[k].cpuSecondsPerGb).reduce((a, b) => a + b, 0);
        return fmt(total, 2);
      };
      out.push(
        table(
          ["path", ...CLUSTER_CASES.map(([, label]) => `${label} MB/s`), "CPU s/GB, all processes (1 up / 1 down)"],
          [
            ["one hub", ...CLUSTER_CASES.map(([k]) => cell(single, k)), `${cpu(single, "up1")} / ${cpu(single, "down1")}`],
            ["two hubs", ...CLUSTER_CASES.map(([k]) => cell(two, k)), `${cpu(two, "up1")} / ${cpu(two, "down1")}`],
            ["two hubs / one hub", ...CLUSTER_CASES.map(([k]) => ratio(k)), ""],
          ],
        ),
      );
      out.push("");
      const cpuRatio = (k) => {
        if (!single?.[k] || !two?.[k]) return "–";
        const total = (t) => Object.values(t[k].cpuSecondsPerGb).reduce((a, b) => a + b, 0);
        return `${fmt(total(single) / total(two), 2)}x`;
      };
      out.push(
        `CPU per GB of one hub / of two hubs (the throughput ratio if CPU were all that limits it): ${CLUSTER_CASES.map(([k, label]) => `${label} ${cpuRatio(k)}`).join(", ")}.`,
      );
      const foreign = Math.max(...[single, two].flatMap((t) => CLUSTER_CASES.map(([k]) => t?.[k]?.foreignCpuShare ?? 0)));
      out.push(
        `One hub is measured first, then two hubs, on the same processes. Other processes on the machine used up to ${fmt(foreign * 100, 0)}% of its cores meanwhile${foreign > 0.1 ? ": noisy" : ""}.`,
      );
      out.push("");
      const roles = two?.up1 ? Object.keys(two.up1.cpuSecondsPerGb) : [];
      if (roles.length > 0) {
        out.push("CPU seconds per GB per process across two hubs (hub A holds the reaching agent, hub B the exposing one):");
        out.push("");
        out.push(
          table(
            ["process", ...CLUSTER_CASES.map(([, label]) => label)],
            roles.map((role) => [role, ...CLUSTER_CASES.map(([k]) => fmt(two[k]?.cpuSecondsPerGb[role], 2))]),
          ),
        );
        out.push("");
      }
      const a = cross.single.rtt;
      const b = cross.cross.rtt;
      if (a && b) {
        const pair = (x) => `${ms(x.p50)} / ${ms(x.p99)}`;
        const added = (x, y) => `${signed(y.p50 - x.p50)} / ${signed(y.p99 - x.p99)}`;
        out.push(`Round trip of a 64-byte ping-pong (ms, p50 / p99, ${doc.options.rttCount} round trips):`);
        out.push("");
        out.push(
          table(
            ["path", "idle", "with bulk up", "with bulk down"],
            [
              ["one hub", pair(a.idle), pair(a.loaded.upload), pair(a.loaded.download)],
              ["two hubs", pair(b.idle), pair(b.loaded.upload), pair(b.loaded.download)],
              [
                "added by the second hub",
                added(a.idle, b.idle),
                added(a.loaded.upload, b.loaded.upload),
                added(a.loaded.download, b.loaded.download),
              ],
            ],
          ),
        );
        out.push("");
      }
    }
  }
  if (workers) {
    out.push(
      "### 6b. Aggregate of 8 agent pairs, all 8 streams at once (one stream per pair), through one `connect-hub start --workers N`",
    );
    out.push("");
    const rows = [];
    for (const key of ["workers1", "workers2"]) {
      const r = workers[key];
      if (!r) continue;
      if (r.error) {
        rows.push([
          key.replace("workers", ""),
          `failed: ${String(r.error).split("\n")[0].slice(0, 200)}`,
          "",
          "",
          "",
          "",
          "",
          "",
        ]);
        continue;
      }
      for (const direction of ["upload", "download"]) {
        const d = r[direction];
        if (!d) continue;
        const cores = (cpuSeconds) => fmt(cpuSeconds / d.cpu.seconds, 2);
        const hubCores =
          d.cpu.hubProcessCpuSeconds.length > 1 ? ` (${d.cpu.hubProcessCpuSeconds.map((s) => cores(s)).join(" + ")})` : "";
        rows.push([
          `${r.workers === 1 ? "1, a plain hub" : r.workers} (${direction})`,
          d.runs.length > 1 ? `${fmt(d.mbps)} (${fmt(d.minMbps, 0)}–${fmt(d.maxMbps, 0)})` : fmt(d.mbps),
          `${fmt(d.streamMinMbps)}–${fmt(d.streamMaxMbps)}`,
          `${fmt(d.oneHubStreamMbps)} / ${fmt(d.crossingStreamMbps)}`,
          `${cores(d.cpu.hubCpuSeconds)}${hubCores}; ${fmt(d.cpu.hubCpuSeconds / ((d.mbps * MB * d.cpu.seconds) / GB), 2)} s/GB`,
          cores(d.cpu.agentsCpuSeconds),
          cores(d.cpu.loadCpuSeconds),
          `${fmt((d.cpu.machineBusySeconds / (d.cpu.seconds * doc.machine.cores)) * 100, 0)}% / ${fmt((d.foreignCpuShare ?? 0) * 100, 0)}%`,
        ]);
      }
    }
    out.push(
      table(
        [
          "workers (direction)",
          "aggregate MB/s",
          "per stream MB/s (min–max)",
          "mean per stream MB/s: pair on one worker / pair across workers",
          "hub cores used (primary + workers); hub CPU s per GB",
          "16 agents, cores",
          "load generators, cores",
          "machine busy / of it other processes",
        ],
        rows,
      ),
    );
    out.push("");
    const w1 = workers.workers1;
    const w2 = workers.workers2;
    if (w2?.agentsPerHub)
      out.push(
        `With 2 workers, node:cluster dealt the 16 agents ${Object.entries(w2.agentsPerHub)
          .map(([hub, n]) => `${n} to ${hub}`)
          .join(
            ", ",
          )}; ${w2.pairsOnOneHub} of ${w2.pairs} pairs had both agents on one worker (the others cross between workers over a peer connection).`,
      );
    if (w1?.upload && w2?.upload && w1?.download && w2?.download)
      out.push(
        `Workers 2 / workers 1: upload ${fmt(w2.upload.mbps / w1.upload.mbps, 2)}x, download ${fmt(w2.download.mbps / w1.download.mbps, 2)}x. "Cores" are CPU seconds per second of wall time; on a ${doc.machine.cores}-core machine the hub's workers can only gain what the agents and load generators leave free.`,
      );
    out.push("");
  }
  return out;
}

/** Issue 17's targets from the cluster shapes of this run (when they ran). */
function clusterTargets(doc) {
  const targets = [];
  const { cross, workers } = doc.cluster ?? {};
  if (cross) {
    const single = cross.single?.throughput;
    const two = cross.cross?.throughput;
    for (const [key, label] of [
      ["up1", "upload"],
      ["down1", "download"],
    ]) {
      const entry = { name: `cluster: single-stream ${label} across two hubs >= 0.8x one hub` };
      if (!single?.[key] || !two?.[key])
        Object.assign(entry, {
          pass: undefined,
          detail: `not measured (${cross.error ? "cross-hub shape failed" : "no figure"})`,
        });
      else {
        const ratio = two[key].mbps / single[key].mbps;
        Object.assign(entry, {
          pass: ratio >= 0.8,
          ratio,
          detail: `${fmt(two[key].mbps)} vs ${fmt(single[key].mbps)} MB/s = ${fmt(ratio, 2)}x${ratio < 0.8 ? ` (short by ${fmt((0.8 - ratio) * 100, 0)} points)` : ""}`,
        });
      }
      targets.push(entry);
    }
    const a = cross.single?.rtt;
    const b = cross.cross?.rtt;
    const entry = { name: "cluster: p50 round trip added by the second hub (idle) <= 0.3 ms" };
    if (!a || !b) Object.assign(entry, { pass: undefined, detail: "not measured (cross-hub round trip failed)" });
    else {
      const added = b.idle.p50 - a.idle.p50;
      Object.assign(entry, {
        pass: added <= 0.3,
        value: added,
        detail: `${signed(added)} ms (p50 ${ms(b.idle.p50)} vs ${ms(a.idle.p50)} ms); p99 added ${signed(b.idle.p99 - a.idle.p99)} ms; with bulk up / down p50 added ${signed(b.loaded.upload.p50 - a.loaded.upload.p50)} / ${signed(b.loaded.download.p50 - a.loaded.download.p50)} ms`,
      });
    }
    targets.push(entry);
  }
  if (workers) {
    const w1 = workers.workers1;
    const w2 = workers.workers2;
    for (const direction of ["upload", "download"]) {
      const entry = { name: `cluster: aggregate ${direction} of 8 pairs through --workers 2 >= 1.5x --workers 1` };
      if (!w1?.[direction] || !w2?.[direction])
        Object.assign(entry, {
          pass: undefined,
          detail: `not measured (${w1?.error ?? w2?.error ?? "no figure"})`.slice(0, 200),
        });
      else {
        const ratio = w2[direction].mbps / w1[direction].mbps;
        const hubCores = (r) => r[direction].cpu.hubCpuSeconds / r[direction].cpu.seconds;
        Object.assign(entry, {
          pass: ratio >= 1.5,
          ratio,
          detail: `${fmt(w2[direction].mbps)} vs ${fmt(w1[direction].mbps)} MB/s = ${fmt(ratio, 2)}x${ratio < 1.5 ? ` (short by ${fmt((1.5 - ratio) * 100, 0)} points)` : ""}; hub used ${fmt(hubCores(w2), 2)} vs ${fmt(hubCores(w1), 2)} cores of ${doc.machine.cores}`,
        });
      }
      targets.push(entry);
    }
  }
  return targets;
}

/** The issue's targets, evaluated from this run's numbers. */
export function evaluateTargets(doc, { slowGrowthBound = 32 * MiB, hubPerStreamBound = 10 * KiB } = {}) {
  const targets = [];
  const get = (name) => doc.contenders[name];
  const pcs = ["pc-ws", "pc-wss"].filter((name) => get(name));
  const only = doc.options.only;
  const missing = (what) => ({ pass: undefined, detail: `not measured (${what})` });

  if (only.includes("throughput")) {
    const ssh = get("ssh")?.throughput;
    for (const name of pcs) {
      for (const [key, label] of [
        ["up1", "upload"],
        ["down1", "download"],
      ]) {
        const pc = get(name).throughput;
        const entry = { name: `${name} single-stream ${label} >= 1.0x SSH` };
        if (!pc || !ssh)
          Object.assign(
            entry,
            missing(!pc ? `${name} throughput failed` : get("ssh") ? "SSH throughput failed" : "SSH not in this run"),
          );
        else {
          // The slowest fresh start counts (issue 22); with one start it is that start's mean.
          const spread = startSpread(pc[key]);
          const ratio = spread.min / ssh[key].mbps;
          const which = spread.count > 1 ? `slowest of ${spread.count} starts ` : "";
          Object.assign(entry, {
            pass: ratio >= 1.0,
            ratio,
            detail: `${which}${fmt(spread.min)} vs ${fmt(ssh[key].mbps)} MB/s = ${fmt(ratio, 2)}x`,
          });
        }
        targets.push(entry);
      }
    }
  }
  if (only.includes("rtt")) {
    const base = get("direct")?.rtt;
    for (const name of pcs) {
      const r = get(name).rtt;
      const entry = { name: `${name} p99 added RTT with a concurrent bulk stream <= 2 ms` };
      if (!r || !base) Object.assign(entry, missing(!base && !get("direct") ? "direct TCP not in this run" : "RTT failed"));
      else {
        const up = r.loaded.upload.p99 - base.loaded.upload.p99;
        const down = r.loaded.download.p99 - base.loaded.download.p99;
        const worst = Math.max(up, down);
        Object.assign(entry, {
          pass: worst <= 2,
          value: worst,
          // Direct TCP's own p99 under its (much faster) bulk stream can exceed the relay's,
          // making "added" negative: the absolute figures show what a user would see.
          detail: `bulk up ${signed(up)} ms, bulk down ${signed(down)} ms (worst counts); p99 itself ${ms(r.loaded.upload.p99)} / ${ms(r.loaded.download.p99)} ms, direct's ${ms(base.loaded.upload.p99)} / ${ms(base.loaded.download.p99)} ms`,
        });
      }
      targets.push(entry);
    }
  }
  if (only.includes("setup")) {
    const ssh = get("ssh")?.setup;
    for (const name of pcs) {
      const r = get(name).setup;
      const entry = { name: `${name} setup p50 <= SSH's` };
      if (!r || !ssh) Object.assign(entry, missing(!get("ssh") ? "SSH not in this run" : "setup failed"));
      else {
        const ratio = r.sequential.p50 / ssh.sequential.p50;
        Object.assign(entry, {
          pass: r.sequential.p50 <= ssh.sequential.p50,
          ratio,
          detail: `${ms(r.sequential.p50)} vs ${ms(ssh.sequential.p50)} ms = ${fmt(ratio, 2)}x`,
        });
      }
      targets.push(entry);
    }
  }
  if (only.includes("memory")) {
    for (const name of pcs) {
      const r = get(name).memory;
      const largest = r?.stages.at(-1);
      const entry = { name: `${name} hub memory per idle stream <= ${hubPerStreamBound / KiB} KiB` };
      if (!largest) Object.assign(entry, missing("memory failed"));
      else {
        const per = largest.perStream.hub.rssBytes;
        Object.assign(entry, {
          pass: per <= hubPerStreamBound,
          value: per,
          detail: `${fmt(per / KiB, 2)} KiB at ${largest.held} streams`,
        });
      }
      targets.push(entry);
      const big = r?.stages.find((s) => s.target >= 10_000);
      const all = { name: `${name} 10,000 concurrent streams through one hub without an error` };
      if (!big) Object.assign(all, missing(r ? "no 10,000 stage in this run" : "memory failed"));
      else
        Object.assign(all, {
          pass: big.allOpen,
          detail: `${big.held} open, ${big.openErrors} open errors, ${big.dropped} dropped${big.errorKinds?.length ? ` (${big.errorKinds.join(", ")})` : ""}`,
        });
      targets.push(all);
    }
  }
  if (only.includes("slow")) {
    for (const name of pcs) {
      const r = get(name).slowReader;
      const entry = {
        name: `${name} slow-reader peak RSS growth of hub and each agent < ${slowGrowthBound / MiB} MiB (a stream's window: 256 KiB, growing to at most 16 MiB while its reader keeps up and it is alone on its connection)`,
      };
      if (!r) Object.assign(entry, missing("slow reader failed"));
      else {
        const worst = Math.max(...Object.values(r.roles).map((m) => m.growth));
        Object.assign(entry, {
          pass: worst < slowGrowthBound,
          value: worst,
          detail: `${Object.entries(r.roles)
            .map(([role, m]) => `${role} ${fmt(m.growth / MiB, 2)} MiB`)
            .join(", ")}; ${fmt(r.inFlightBytes / MiB, 2)} MiB in flight while ${fmt(r.writtenBytes / MB, 0)} MB were offered`,
        });
      }
      targets.push(entry);
    }
  }
  targets.push(...endToEndTargets(doc));
  targets.push(...relaySpeedTargets(doc));
  targets.push(...smallMessageTargets(doc));
  targets.push(...clusterTargets(doc));
  return targets;
}

/** JSON without raw sample arrays. */
export function toJson(doc) {
  return JSON.stringify(doc, (key, value) => (key === "samples" && Array.isArray(value) ? undefined : value), 2);
}

export { GB };
