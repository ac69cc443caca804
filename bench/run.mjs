// npm run bench: Private Connect against direct TCP, socat and an SSH tunnel, on loopback.
// Never part of npm test. Bounded: every loop has a count and a deadline, the whole run a budget.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startLoadProcess } from "./lib/children.mjs";
import { aggregate, crossHub } from "./lib/cluster.mjs";
import { allContenders, cleanupTls, useRepo } from "./lib/contenders.mjs";
import { parseOptions, usage } from "./lib/options.mjs";
import { loadAverage, startForeignCpuMeter } from "./lib/proc.mjs";
import { runProfile } from "./lib/profile.mjs";
import { evaluateTargets, renderMarkdown, toJson } from "./lib/report.mjs";
import { pgbenchSelect, preparePgbenchDatabase, redisGet, smallMessageServers } from "./lib/small-messages.mjs";
import { ensureTools, log, sleep } from "./lib/tools.mjs";
import { memory, mergeThroughput, rtt, setup, slowReader, throughput } from "./lib/workloads.mjs";

const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const started = Date.now();
const live = new Set();
/** workload flag -> [result key, function] */
const runners = {
  slow: ["slowReader", slowReader],
  throughput: ["throughput", throughput],
  rtt: ["rtt", rtt],
  setup: ["setup", setup],
  memory: ["memory", memory],
  pgbench: ["pgbench", pgbenchSelect],
  redis: ["redis", redisGet],
};
/** Workloads whose contender instance forwards to another server than the bench's echo server. */
const SMALL_MESSAGE_WORKLOADS = ["pgbench", "redis"];

function machineInfo() {
  // ssh -V prints its version on stderr.
  const sshRun = spawnSync("/usr/bin/ssh", ["-V"], { encoding: "utf8" });
  const sshVersion = `${sshRun.stderr ?? ""}${sshRun.stdout ?? ""}`.trim() || "ssh unavailable";
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    ssh: sshVersion.split(",")[0],
    socat: readSocatVersion() ?? "socat unavailable",
    openFilesLimit: readOpenFilesLimit(),
  };
}

function readSocatVersion() {
  try {
    const text = execFileSync("/usr/bin/socat", ["-V"], { encoding: "utf8" });
    const match = /socat version ([\d.]+)/.exec(text);
    return match ? `socat ${match[1]}` : undefined;
  } catch {
    return undefined;
  }
}

function readOpenFilesLimit() {
  const text = readFileSync("/proc/self/limits", "utf8");
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  return match ? Number(match[1]) || Number.POSITIVE_INFINITY : undefined;
}

async function stopAll() {
  for (const item of [...live]) {
    live.delete(item);
    await item.stop().catch(() => {});
  }
  await cleanupTls().catch(() => {});
}

async function withInstance(contender, ctx, body, startOptions = {}) {
  const instance = await contender.start({
    serverPort: ctx.server.port,
    client: ctx.client,
    extraNodeOptions: ctx.options.pcNodeOptions,
    ...startOptions,
  });
  live.add(instance);
  try {
    return await body(instance);
  } finally {
    live.delete(instance);
    await instance.stop().catch((error) => log(`stopping ${contender.name}: ${error.message}`));
  }
}

async function main() {
  const options = parseOptions();
  if (options.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const watchdog = setTimeout(async () => {
    log("hard time limit reached: stopping everything");
    await stopAll();
    process.exit(2);
  }, options.hardLimitMs);
  watchdog.unref();
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      log(`${signal}: stopping`);
      await stopAll();
      process.exit(130);
    });
  }

  const notes = [];
  if (options.pcNodeOptions) notes.push(`Private Connect hub and agents ran with NODE_OPTIONS="${options.pcNodeOptions}"`);
  if (options.repo) {
    useRepo(resolve(options.repo));
    notes.push(`benchmarked the build in ${options.repo}`);
  }
  const tools = options.install ? await ensureTools() : { available: {}, notes: [] };
  if (!options.install) {
    const probe = await ensureToolsDryRun();
    Object.assign(tools, probe);
  }
  notes.push(...tools.notes);
  const machine = machineInfo();
  const needFds = options.only.includes("memory") ? Math.max(...options.memoryCounts) + 2_000 : 5_000;
  if (machine.openFilesLimit < needFds) {
    const note = `open-file limit ${machine.openFilesLimit} is below the ${needFds} this run needs: run through npm run bench (it raises it with ulimit -n)`;
    log(note);
    notes.push(note);
  }
  log(`machine: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}`);

  const server = await startLoadProcess("server");
  const client = await startLoadProcess("client");
  const bulk = await startLoadProcess("client");
  for (const child of [server, client, bulk]) live.add(child);
  mkdirSync(resultsDir, { recursive: true });

  if (options.profile) {
    const summary = await runProfile({ server, client, options, resultsDir, machine });
    writeFileSync(`${resultsDir}profile.md`, summary.markdown);
    process.stdout.write(`${summary.markdown}\n`);
    writeFileSync(`${resultsDir}profile.json`, `${JSON.stringify(summary.runs, null, 2)}\n`);
    log(`profile summary in bench/results/profile.md (and profile.json), raw profiles in ${summary.profileDir}`);
    await stopAll();
    return;
  }

  const doc = {
    startedAt: new Date(started).toISOString(),
    machine,
    options,
    notes,
    contenders: {},
    targets: [],
  };
  // --only=cluster alone runs no contender (the cluster shapes bring their own hubs and agents).
  const contenderWorkloads = Object.keys(runners).filter((w) => options.only.includes(w));
  const contenders = contenderWorkloads.length === 0 ? [] : allContenders.filter((c) => options.contenders.includes(c.name));
  machine.loadAverageStart = loadAverage();

  const phaseA = ["throughput", "rtt", "setup", "slow"].filter((w) => options.only.includes(w));
  const outOfTime = () => Date.now() - started > options.budgetMs;
  const servers = smallMessageServers(options);
  const pgbench = contenders.length > 0 && options.only.includes("pgbench") ? await preparePgbenchDatabase(servers) : undefined;
  if (pgbench !== undefined) live.add({ stop: () => pgbench.drop() });

  for (const contender of contenders) {
    const result = { title: contender.title, labels: contender.labels, errors: {} };
    if (contender.isEndToEnd !== undefined) result.isEndToEnd = contender.isEndToEnd;
    doc.contenders[contender.name] = result;
    const missing = (contender.needs ?? []).filter((tool) => !tools.available[tool]);
    if (missing.length > 0) {
      result.error = `skipped: ${missing.join(", ")} not available`;
      log(`${contender.name}: ${result.error}`);
      continue;
    }
    // socat forks one process per connection and hop: 10,000 streams would be 20,000 processes.
    if (contender.name === "socat") {
      contender.maxIdleStreams = 1_000;
      contender.maxIdleStreamsReason = "socat forks a process per connection per hop (20,000 processes; pid_max is often 32,768)";
    }
    const ctx = {
      client,
      bulk,
      server,
      options,
      contender,
      benchPids: [process.pid, client.pid, bulk.pid, server.pid],
      cores: machine.cores,
      pgbench,
    };
    // A reference contender measures only some workloads (contender.workloads).
    const measures = (workload) => options.only.includes(workload) && (contender.workloads ?? [workload]).includes(workload);
    result.workloads = Object.keys(runners).filter(measures);
    const phases = [];
    if (measures("memory")) phases.push(["memory"]);
    const ownPhaseA = phaseA.filter(measures);
    if (ownPhaseA.length > 0) phases.push(ownPhaseA);
    // Throughput again on more fresh instances: Private Connect's speed varies between starts.
    const starts = contender.freshStarts ? options.repeat : options.referenceRepeat;
    if (measures("throughput")) for (let i = 1; i < starts; i += 1) phases.push(["throughput"]);
    // Each small-message workload gets an instance of its own, forwarding to its real server.
    for (const workload of SMALL_MESSAGE_WORKLOADS) if (measures(workload)) phases.push([workload]);
    const realServerOf = (phase) =>
      phase[0] === "pgbench" ? servers.postgres : phase[0] === "redis" ? servers.redis : undefined;
    for (const phase of phases) {
      if (outOfTime()) {
        for (const w of phase) result.errors[w] = "skipped: time budget used up";
        continue;
      }
      log(`${contender.title}: starting for ${phase.join(", ")}`);
      try {
        await withInstance(
          contender,
          ctx,
          async (instance) => {
            for (const workload of phase) {
              if (outOfTime()) {
                result.errors[workload] = "skipped: time budget used up";
                continue;
              }
              log(`${contender.title}: ${workload}`);
              const foreign = startForeignCpuMeter([...Object.values(instance.roles).flat(), ...ctx.benchPids], machine.cores);
              try {
                const [key, measure] = runners[workload];
                const measured = await measure({ ...ctx, instance });
                measured.foreignCpuShare = foreign.stop();
                result[key] = key === "throughput" && result[key] ? mergeThroughput(result[key], measured) : measured;
              } catch (error) {
                result.errors[workload] = error.message;
                log(`${contender.title}: ${workload} failed: ${error.message.split("\n")[0]}`);
                await client.call("closeIdle").catch(() => {});
                await bulk.call("bulkStop").catch(() => {});
              }
            }
            if (instance.verifySecurity) await checkSecurityAfter(instance, result, phase);
          },
          {
            withGcHook: phase.includes("memory"),
            ...(realServerOf(phase) === undefined
              ? {}
              : { serverPort: realServerOf(phase).port, greeting: realServerOf(phase).greeting }),
          },
        );
      } catch (error) {
        for (const w of phase) result.errors[w] ??= error.message;
        log(`${contender.title}: ${error.message.split("\n").slice(0, 3).join(" | ")}`);
      }
      await sleep(500);
    }
  }

  await runClusterShapes(
    doc,
    { client, bulk, server, options, benchPids: [process.pid, client.pid, bulk.pid, server.pid], cores: machine.cores },
    outOfTime,
  );

  doc.durationSeconds = (Date.now() - started) / 1000;
  doc.machine.loadAverageEnd = loadAverage();

  // The JSON first: a report that fails to render still leaves the measurements behind.
  writeFileSync(`${resultsDir}latest.json`, `${toJson(doc)}\n`);
  doc.targets = evaluateTargets(doc);
  writeFileSync(`${resultsDir}latest.json`, `${toJson(doc)}\n`);
  const markdown = renderMarkdown(doc);
  writeFileSync(`${resultsDir}latest.md`, `${markdown}\n`);
  process.stdout.write(`${markdown}\n`);
  log(`done in ${doc.durationSeconds.toFixed(0)} s: bench/results/latest.md, bench/results/latest.json`);
  await stopAll();
}

/**
 * Private Connect: both agents must still say their last stream (one of the measurement's) was
 * end to end exactly when the contender claims it; otherwise the phase's figures are dropped.
 */
async function checkSecurityAfter(instance, result, phase) {
  result.security ??= { isEndToEnd: result.isEndToEnd, afterFirstStream: instance.security, afterMeasurements: [] };
  try {
    result.security.afterMeasurements.push(await instance.verifySecurity());
  } catch (error) {
    log(`${result.title}: ${error.message}`);
    for (const workload of phase) {
      delete result[runners[workload][0]];
      result.errors[workload] = `figures dropped: ${error.message}`;
    }
  }
}

/** Issue 17's cluster shapes, after the contenders (they start hubs and agents of their own). */
async function runClusterShapes(doc, ctx, outOfTime) {
  const shapes = [
    ["cluster-cross", "cross", crossHub],
    ["cluster-workers", "workers", aggregate],
  ].filter(([flag]) => ctx.options.only.includes(flag));
  if (shapes.length === 0) return;
  doc.cluster = {};
  for (const [flag, key, measure] of shapes) {
    if (outOfTime()) {
      doc.cluster[key] = { error: "skipped: time budget used up" };
      continue;
    }
    log(`${flag}: starting`);
    try {
      doc.cluster[key] = await measure(ctx, { outOfTime });
    } catch (error) {
      doc.cluster[key] = { error: error.message };
      log(`${flag} failed: ${error.message.split("\n").slice(0, 3).join(" | ")}`);
      await ctx.client.call("closeIdle").catch(() => {});
      await ctx.bulk.call("bulkStop").catch(() => {});
    }
    await sleep(500);
  }
}

async function ensureToolsDryRun() {
  const { existsSync } = await import("node:fs");
  const paths = {
    socat: "/usr/bin/socat",
    sshd: "/usr/sbin/sshd",
    ssh: "/usr/bin/ssh",
    "ssh-keygen": "/usr/bin/ssh-keygen",
    openssl: "/usr/bin/openssl",
  };
  return { available: Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, existsSync(p)])), notes: [] };
}

main().then(
  () => process.exit(0),
  async (error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
    await stopAll();
    process.exit(1);
  },
);
