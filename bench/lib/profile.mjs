// --profile: V8 CPU profiles of the Private Connect hub and both agents while one stream
// uploads and then downloads over ws://, summarised as self time per function and per area.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pcWs, pcWsE2e, pcWss } from "./contenders.mjs";
import { MB } from "./stats.mjs";
import { log, sleep } from "./tools.mjs";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

function shortUrl(url) {
  if (!url) return "";
  let text = url.replace(/^file:\/\//, "");
  if (text.startsWith(repo)) text = text.slice(repo.length);
  const nm = text.lastIndexOf("node_modules/");
  if (nm >= 0) text = text.slice(nm);
  return text;
}

/** Which part of the stack a frame belongs to, for the per-area totals. */
function area(name, url) {
  if (name === "(idle)") return "(idle)";
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "(program): native, not attributed to JS";
  if (!url) return `native binding: ${name}`;
  const u = shortUrl(url);
  if (u.startsWith("node_modules/ws/")) return `ws: ${u.slice("node_modules/ws/".length)}`;
  if (u.startsWith("node_modules/")) return `dependency: ${u.split("/")[1]}`;
  if (u.startsWith("node:")) return `node core: ${u.replace(/^node:(internal\/)?/, "")}`;
  if (u.includes("/dist/")) return `Private Connect: ${u}`;
  return u;
}

export function analyzeProfile(profile, windows) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const areas = new Map();
  let total = 0;
  let idle = 0;
  let time = profile.startTime;
  const inWindow = (t) => windows.length === 0 || windows.some((w) => t >= w.start && t <= w.end);
  for (let i = 0; i < profile.samples.length; i += 1) {
    time += profile.timeDeltas[i];
    const spent = profile.timeDeltas[i + 1] ?? 0;
    if (!inWindow(time)) continue;
    const frame = nodes.get(profile.samples[i])?.callFrame;
    if (!frame) continue;
    const name = frame.functionName || "(anonymous)";
    total += spent;
    if (name === "(idle)") idle += spent;
    const key = `${name}\t${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + spent);
    const a = area(name, frame.url);
    areas.set(a, (areas.get(a) ?? 0) + spent);
  }
  const busy = total - idle;
  const top = [...self.entries()]
    .filter(([key]) => !key.startsWith("(idle)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 18)
    .map(([key, micros]) => {
      const [name, where] = key.split("\t");
      return { name, where, ms: micros / 1000, share: micros / busy };
    });
  const byArea = [...areas.entries()]
    .filter(([name]) => name !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, 14)
    .map(([name, micros]) => ({ name, ms: micros / 1000, share: micros / busy }));
  return { sampledMs: total / 1000, busyMs: busy / 1000, idleMs: idle / 1000, top, byArea };
}

function findProfile(dir, pid) {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  const match = pid ? files.find((f) => f.split(".").includes(String(pid))) : undefined;
  const chosen = match ?? (files.length === 1 ? files[0] : undefined);
  return chosen ? join(dir, chosen) : undefined;
}

export async function runProfile({ server, client, options, resultsDir, machine }) {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const targets = [pcWs, pcWsE2e, pcWss].filter((c) => options.contenders.includes(c.name));
  const sections = [];
  const runs = [];
  for (const contender of targets) {
    const profileDir = join(resultsDir, `profiles-${stamp}`, contender.name);
    log(`profiling ${contender.title} (profiles in ${profileDir})`);
    const run = await profileOne({ contender, server, client, options, profileDir });
    runs.push({ contender: contender.name, profileDir, windows: run.windows, processes: run.processes });
    sections.push(renderProfile({ title: contender.title, windows: run.windows, processes: run.processes, machine }));
  }
  return { profileDir: join(resultsDir, `profiles-${stamp}`), runs, markdown: sections.join("\n") };
}

async function profileOne({ contender, server, client, options, profileDir }) {
  const instance = await contender.start({
    serverPort: server.port,
    client,
    profileDir,
    extraNodeOptions: options.pcNodeOptions,
  });
  const pids = { hub: instance.roles.hub[0], reach: instance.roles.reach[0], expose: instance.roles.expose[0] };
  const windows = [];
  try {
    await client.call("bulk", { port: instance.entryPort, direction: "upload", durationMs: 1_000, streams: 1 });
    await client.call("bulk", { port: instance.entryPort, direction: "download", durationMs: 1_000, streams: 1 });
    for (const direction of ["upload", "download"]) {
      await sleep(300);
      const start = nowMicros();
      const result = await client.call("bulk", {
        port: instance.entryPort,
        direction,
        durationMs: options.profileMs,
        streams: 1,
      });
      windows.push({ direction, start, end: nowMicros(), mbps: result.bytes / MB / result.seconds });
      log(`  profiled ${direction}: ${windows.at(-1).mbps.toFixed(1)} MB/s`);
    }
    // Stream opens: what one connect-to-first-byte costs the hub and agents.
    await sleep(300);
    const start = nowMicros();
    const opens = await client.call("setupSequential", { port: instance.entryPort, count: options.profileOpens, maxMs: 60_000 });
    const sorted = [...opens.samples].sort((a, b) => a - b);
    windows.push({
      direction: "opens",
      start,
      end: nowMicros(),
      opens: opens.samples.length,
      p50: sorted[Math.floor(sorted.length / 2)],
    });
    log(`  profiled ${opens.samples.length} sequential opens (p50 ${windows.at(-1).p50?.toFixed(2)} ms)`);
  } finally {
    await instance.stop();
  }
  await sleep(500);
  const processes = {};
  for (const [role, pid] of Object.entries(pids)) {
    const file = findProfile(join(profileDir, role), pid);
    if (!file) {
      processes[role] = { error: `no profile written for pid ${pid} in ${join(profileDir, role)}` };
      continue;
    }
    const profile = JSON.parse(readFileSync(file, "utf8"));
    const inRange = windows.every((w) => w.start >= profile.startTime && w.end <= profile.endTime);
    processes[role] = {
      file,
      pid,
      whole: !inRange,
      directions: Object.fromEntries(windows.map((w) => [w.direction, analyzeProfile(profile, inRange ? [w] : [])])),
      both: analyzeProfile(profile, inRange ? windows.filter((w) => w.mbps !== undefined) : []),
    };
  }
  return { windows, processes };
}

function renderProfile({ title, windows, processes, machine }) {
  const out = [];
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  out.push(`# CPU profile: ${title}, one stream`);
  out.push("");
  out.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}. Profiler: node --cpu-prof (1 ms sampling).`,
  );
  out.push("");
  for (const w of windows) {
    const what = w.mbps !== undefined ? `${w.mbps.toFixed(1)} MB/s` : `${w.opens} sequential opens, p50 ${w.p50?.toFixed(2)} ms`;
    out.push(`- ${w.direction}: ${what} over ${((w.end - w.start) / 1e6).toFixed(1)} s (with profiling on)`);
  }
  out.push("");
  out.push(`| process | ${windows.map((w) => `${w.direction}: busy / wall`).join(" | ")} |`);
  out.push(`| --- | ${windows.map(() => "---").join(" | ")} |`);
  for (const [role, p] of Object.entries(processes)) {
    if (p.error) continue;
    const cell = (d) => {
      const w = windows.find((x) => x.direction === d);
      const a = p.directions[d];
      return `${a.busyMs.toFixed(0)} ms / ${((w.end - w.start) / 1000).toFixed(0)} ms (${pct(a.busyMs / ((w.end - w.start) / 1000))})`;
    };
    out.push(`| ${role} | ${windows.map((w) => cell(w.direction)).join(" | ")} |`);
  }
  out.push("");
  for (const [role, p] of Object.entries(processes)) {
    out.push(`## ${title}: ${role}${p.pid ? ` (pid ${p.pid})` : ""}`);
    out.push("");
    if (p.error) {
      out.push(p.error);
      out.push("");
      continue;
    }
    if (p.whole) out.push("(the profile did not cover the measurement windows exactly: whole-process totals)");
    out.push(
      `Bulk transfer (upload and download windows): busy ${p.both.busyMs.toFixed(0)} ms of ${p.both.sampledMs.toFixed(0)} ms sampled.`,
    );
    out.push("");
    out.push("| area | self ms | share of busy |");
    out.push("| --- | --- | --- |");
    for (const a of p.both.byArea) out.push(`| ${a.name} | ${a.ms.toFixed(0)} | ${pct(a.share)} |`);
    out.push("");
    out.push("| function | where | self ms | share of busy |");
    out.push("| --- | --- | --- | --- |");
    for (const f of p.both.top) out.push(`| ${f.name} | ${f.where || "(native)"} | ${f.ms.toFixed(0)} | ${pct(f.share)} |`);
    out.push("");
    const opens = p.directions.opens;
    if (opens && role === "hub") {
      out.push(`Stream opens: busy ${opens.busyMs.toFixed(0)} ms of ${opens.sampledMs.toFixed(0)} ms sampled.`);
      out.push("");
      out.push("| area | self ms | share of busy |");
      out.push("| --- | --- | --- |");
      for (const a of opens.byArea.slice(0, 10)) out.push(`| ${a.name} | ${a.ms.toFixed(0)} | ${pct(a.share)} |`);
      out.push("");
      out.push("| function | where | self ms | share of busy |");
      out.push("| --- | --- | --- | --- |");
      for (const f of opens.top.slice(0, 12))
        out.push(`| ${f.name} | ${f.where || "(native)"} | ${f.ms.toFixed(0)} | ${pct(f.share)} |`);
      out.push("");
    }
  }
  return out.join("\n");
}
