// The five measurements. Each takes a context { client, bulk, server, instance, options }
// and returns plain data for the report. CPU and memory come from /proc of the contender's
// processes (instance.roles), never from the load generators.
import { snapshotCpu, snapshotMemory, startForeignCpuMeter, startMemorySampler } from "./proc.mjs";
import { GB, MB, summarize } from "./stats.mjs";
import { log, sleep } from "./tools.mjs";

function cpuPerGb(before, after, bytes) {
  const out = {};
  for (const role of Object.keys(before)) out[role] = (after[role] - before[role]) / (bytes / GB);
  return out;
}

/**
 * 1. Bulk throughput: one stream each way, then 4 parallel streams each way. Each case runs
 * options.throughputReps times; the mean is reported with the range. CPU per GB covers all reps.
 */
export async function throughput({ client, instance, options, benchPids, cores, contender }) {
  const port = instance.entryPort;
  const durationMs = options.throughputMs;
  // Warm both directions (JIT, heap sizing) before anything is measured.
  await client.call("bulk", { port, direction: "upload", durationMs: options.warmupMs, streams: 1 });
  await client.call("bulk", { port, direction: "download", durationMs: options.warmupMs, streams: 1 });
  const cases = [
    ["up1", "upload", 1],
    ["down1", "download", 1],
    ["up4", "upload", 4],
    ["down4", "download", 4],
  ].filter(([, , streams]) => streams === 1 || !contender?.singleStreamOnly);
  const results = {};
  for (const [key, direction, streams] of cases) {
    const runs = [];
    let bytes = 0;
    const before = snapshotCpu(instance.roles);
    const gcBefore = instance.readFullGcs?.();
    const foreign = startForeignCpuMeter([...Object.values(instance.roles).flat(), ...benchPids], cores);
    for (let rep = 0; rep < options.throughputReps; rep += 1) {
      const run = await client.call("bulk", { port, direction, durationMs, streams });
      runs.push({
        mbps: run.bytes / MB / run.seconds,
        bytes: run.bytes,
        seconds: run.seconds,
        perStreamMbps: run.streams.map((s) => s.bytes / MB / s.seconds),
      });
      bytes += run.bytes;
      await sleep(150);
    }
    const after = snapshotCpu(instance.roles);
    const gcAfter = instance.readFullGcs?.();
    const foreignCpuShare = foreign.stop();
    const rates = runs.map((r) => r.mbps);
    results[key] = {
      direction,
      streams,
      bytes,
      mbps: rates.reduce((a, b) => a + b, 0) / rates.length,
      minMbps: Math.min(...rates),
      maxMbps: Math.max(...rates),
      runs,
      cpuSecondsPerGb: cpuPerGb(before, after, bytes),
      cpuSeconds: Object.fromEntries(Object.keys(before).map((role) => [role, after[role] - before[role]])),
      fullGcs: gcBefore && gcAfter ? countDelta(gcBefore, gcAfter) : undefined,
      foreignCpuShare,
    };
    log(
      `  ${key}: ${rates.map((r) => r.toFixed(1)).join(", ")} MB/s (other processes used ${(foreignCpuShare * 100).toFixed(0)}% of the machine)`,
    );
    await sleep(150);
  }
  return results;
}

/** Per role: after - before, where both were counted. */
function countDelta(before, after) {
  return Object.fromEntries(
    Object.keys(after)
      .filter((role) => before[role] !== undefined && after[role] !== undefined)
      .map((role) => [role, after[role] - before[role]]),
  );
}

function countSum(a, b) {
  return Object.fromEntries(
    Object.keys(a)
      .filter((role) => role in b)
      .map((role) => [role, a[role] + b[role]]),
  );
}

/** One case's result as a list of fresh starts (a single measurement is one start). */
function startsOf(result) {
  return result.starts ?? [{ mbps: result.mbps, fullGcs: result.fullGcs, cpuSecondsPerGb: result.cpuSecondsPerGb }];
}

/** The slowest, median and fastest start of one case (its mean alone when it ran once). */
export function startSpread(result) {
  const rates = startsOf(result)
    .map((start) => start.mbps)
    .sort((a, b) => a - b);
  const middle = Math.floor(rates.length / 2);
  const median = rates.length % 2 === 1 ? rates[middle] : (rates[middle - 1] + rates[middle]) / 2;
  return { count: rates.length, min: rates[0], median, max: rates.at(-1), fullGcs: startsOf(result).map((s) => s.fullGcs) };
}

/** Combines the throughput results of several fresh instances of one contender (--repeat). */
export function mergeThroughput(a, b) {
  const merged = { instances: (a.instances ?? 1) + 1 };
  for (const key of Object.keys(a)) {
    if (key === "instances" || key === "foreignCpuShare" || !b[key]) continue;
    const x = a[key];
    const y = b[key];
    const runs = [...x.runs, ...y.runs];
    const rates = runs.map((r) => r.mbps);
    const bytes = x.bytes + y.bytes;
    const cpuSeconds = Object.fromEntries(
      Object.keys(x.cpuSeconds).map((role) => [role, x.cpuSeconds[role] + y.cpuSeconds[role]]),
    );
    merged[key] = {
      ...x,
      bytes,
      runs,
      // Issue 22: each fresh start's own mean, so a slow start cannot hide in the pooled mean.
      starts: [...startsOf(x), ...startsOf(y)],
      mbps: rates.reduce((sum, r) => sum + r, 0) / rates.length,
      minMbps: Math.min(...rates),
      maxMbps: Math.max(...rates),
      cpuSeconds,
      cpuSecondsPerGb: Object.fromEntries(Object.entries(cpuSeconds).map(([role, seconds]) => [role, seconds / (bytes / GB)])),
      fullGcs: x.fullGcs && y.fullGcs ? countSum(x.fullGcs, y.fullGcs) : undefined,
      foreignCpuShare: Math.max(x.foreignCpuShare, y.foreignCpuShare),
    };
  }
  merged.foreignCpuShare = Math.max(a.foreignCpuShare ?? 0, b.foreignCpuShare ?? 0);
  return merged;
}

/** 2. 64-byte ping-pong: idle, then with a bulk stream (each way) between the same two sides. */
export async function rtt({ client, bulk, instance, options }) {
  const port = instance.entryPort;
  const args = { port, count: options.rttCount, warmup: 200, size: 64 };
  const idle = summarize((await client.call("pingpong", args)).samples);
  const loaded = {};
  for (const direction of ["upload", "download"]) {
    await bulk.call("bulkStart", { port, direction, durationMs: 120_000, streams: 1 });
    await sleep(500);
    let samples;
    try {
      samples = (await client.call("pingpong", args)).samples;
    } finally {
      const bulkRun = await bulk.call("bulkStop").catch((error) => ({ error: error.message }));
      loaded[direction] = { bulkMbps: bulkRun?.bytes ? bulkRun.bytes / MB / bulkRun.seconds : undefined };
    }
    Object.assign(loaded[direction], summarize(samples));
    await sleep(300);
  }
  log(
    `  idle p50 ${idle.p50?.toFixed(3)} ms, loaded p99 up ${loaded.upload.p99?.toFixed(3)} / down ${loaded.download.p99?.toFixed(3)} ms`,
  );
  return { idle, loaded };
}

/** 3. Setup: sequential connect-to-first-echoed-byte, and a burst of concurrent opens. */
export async function setup({ client, instance, options }) {
  const port = instance.entryPort;
  const sequential = await client.call("setupSequential", { port, count: options.setupCount, maxMs: 120_000 });
  await sleep(300);
  const concurrent = await client.call("setupConcurrent", { port, count: options.setupCount, timeoutMs: 60_000 });
  await sleep(500);
  const result = {
    sequential: { ...summarize(sequential.samples), errors: sequential.errors, attempted: sequential.attempted },
    concurrent: {
      count: options.setupCount,
      totalMs: concurrent.totalMs,
      opened: concurrent.opened,
      errors: concurrent.errors,
      errorKinds: concurrent.errorKinds,
      ...Object.fromEntries(Object.entries(summarize(concurrent.samples)).map(([k, v]) => [`open_${k}`, v])),
    },
  };
  log(
    `  sequential p50 ${result.sequential.p50?.toFixed(3)} ms, ${options.setupCount} concurrent in ${concurrent.totalMs.toFixed(0)} ms (${concurrent.errors} errors)`,
  );
  return result;
}

function perStreamMemory(now, baseline, held) {
  const perStream = {};
  for (const role of Object.keys(now)) {
    perStream[role] = {
      rssBytes: (now[role].rss - baseline[role].rss) / Math.max(1, held),
      pssBytes: (now[role].pss - baseline[role].pss) / Math.max(1, held),
      rssTotal: now[role].rss,
      processes: now[role].processes,
    };
  }
  return perStream;
}

/**
 * 4. Memory per open idle stream, at each count in options.memoryCounts (cumulative: the
 * streams of one stage stay open into the next). RSS is read as it is (the target), and, for
 * contenders that can be asked to (Private Connect with gc-hook.cjs), again after a full GC,
 * which separates what the streams keep alive from garbage not yet collected.
 */
export async function memory({ client, instance, options, contender }) {
  const port = instance.entryPort;
  const withPss = true;
  // Warm the paths (JIT, first allocations) so the baseline is not a cold process.
  await client.call("openIdle", { port, count: 50, concurrency: 25 });
  await client.call("closeIdle");
  await sleep(1_000);
  await instance.collectGarbage?.();
  const baseline = snapshotMemory(instance.roles, { withPss });
  const stages = [];
  const counts = options.memoryCounts.filter((count) => !(contender.maxIdleStreams && count > contender.maxIdleStreams));
  const skipped = options.memoryCounts.filter((count) => !counts.includes(count));
  const budgetMs = contender.idleOpenBudgetMs ?? options.memoryStageMs;
  let residual;
  try {
    for (const count of counts) {
      const status = await client.call("idleStatus");
      const opened = await client.call(
        "openIdle",
        { port, count: count - status.held, concurrency: options.openConcurrency, timeoutMs: 30_000, maxMs: budgetMs },
        budgetMs + 60_000,
      );
      await sleep(1_000);
      const now = snapshotMemory(instance.roles, { withPss });
      const after = await client.call("idleStatus");
      const stage = {
        target: count,
        held: after.held,
        dropped: after.dropped,
        openErrors: opened.errors,
        errorKinds: opened.errorKinds,
        openMs: opened.ms,
        cappedAtMs: after.held + opened.errors < count ? budgetMs : undefined,
        allOpen: after.held === count && after.dropped === 0 && opened.errors === 0,
        perStream: perStreamMemory(now, baseline, after.held),
      };
      if (instance.collectGarbage) {
        await instance.collectGarbage();
        stage.perStreamAfterGc = perStreamMemory(snapshotMemory(instance.roles, { withPss }), baseline, after.held);
      }
      stages.push(stage);
      log(
        `  ${count} idle streams: held ${after.held}, errors ${opened.errors}, dropped ${after.dropped}, in ${opened.ms.toFixed(0)} ms${stage.cappedAtMs ? " (time cap)" : ""}`,
      );
      if (after.held < count * 0.5) break;
    }
  } finally {
    const closed = await client.call("closeIdle");
    await sleep(1_500);
    await instance.collectGarbage?.();
    const now = snapshotMemory(instance.roles, { withPss });
    // What stays after every stream is gone, per stream that was open: retained, not per-stream.
    residual = perStreamMemory(now, baseline, closed.closed);
  }
  return {
    baseline: Object.fromEntries(Object.entries(baseline).map(([role, m]) => [role, m.rss])),
    stages,
    residualAfterClose: residual,
    skipped: skipped.length > 0 ? { counts: skipped, reason: contender.maxIdleStreamsReason } : undefined,
  };
}

/** 5. A reader limited to 1 MB/s against a writer as fast as the path lets it. */
export async function slowReader({ client, server, instance, options }) {
  const port = instance.entryPort;
  await server.call("resetStats");
  const sampler = startMemorySampler(instance.roles, 100);
  let read;
  let memory;
  // What the writer had pushed when the reader stops: read at that moment, not after the reader
  // has hung up, because a writer left with a closed connection says nothing about buffering.
  let stats;
  const statsAtStop = sleep(options.slowMs).then(async () => {
    stats = await server.call("stats");
  });
  try {
    read = await client.call("slowRead", { port, durationMs: options.slowMs, bytesPerSecond: 1 * MB }, options.slowMs + 30_000);
  } finally {
    memory = sampler.stop();
    await statsAtStop;
  }
  await sleep(500);
  const result = {
    seconds: read.seconds,
    readBytes: read.bytes,
    writtenBytes: stats.downloadWritten,
    inFlightBytes: stats.downloadWritten - read.bytes,
    samples: memory.samples,
    roles: memory.roles,
  };
  log(
    `  read ${(read.bytes / MB).toFixed(1)} MB, writer pushed ${(stats.downloadWritten / MB).toFixed(1)} MB; peak growth ${Object.entries(
      memory.roles,
    )
      .map(([role, m]) => `${role} ${(m.growth / MB).toFixed(1)} MB`)
      .join(", ")}`,
  );
  return result;
}
