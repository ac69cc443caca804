// Process statistics straight from /proc: CPU time, RSS/PSS, process trees, periodic sampling.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for utime/stime in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS = 100;

function readStatFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state); field N is rest[N - 3].
    return rest;
  } catch {
    return undefined;
  }
}

/** CPU seconds of one process: own user+system, plus children it has reaped. */
export function cpuSeconds(pid) {
  const f = readStatFields(pid);
  if (!f) return 0;
  const utime = Number(f[14 - 3]);
  const stime = Number(f[15 - 3]);
  const cutime = Number(f[16 - 3]);
  const cstime = Number(f[17 - 3]);
  return (utime + stime + cutime + cstime) / CLOCK_TICKS;
}

export function parentPid(pid) {
  const f = readStatFields(pid);
  return f ? Number(f[4 - 3]) : undefined;
}

/** The pid and all its live descendants (scans /proc once). */
export function processTree(rootPid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentPid(name);
    if (ppid === undefined) continue;
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop();
    if (out.includes(pid)) continue;
    out.push(pid);
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  return out;
}

/**
 * CPU seconds of a group of process trees. Each live process counts its own time and that
 * of children it reaped (cutime/cstime), so a forked child (socat, sshd) is counted once
 * whether it is still running or already reaped.
 */
export function groupCpuSeconds(roots) {
  let total = 0;
  for (const root of roots) for (const pid of processTree(root)) total += cpuSeconds(pid);
  return total;
}

function statusKiB(pid, field) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export function rssBytes(pid) {
  return statusKiB(pid, "VmRSS") * 1024;
}

export function pssBytes(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const match = /^Pss:\s+(\d+) kB/m.exec(text);
    return match ? Number(match[1]) * 1024 : rssBytes(pid);
  } catch {
    return 0;
  }
}

/** RSS (and PSS, which splits shared pages fairly among forked processes) of process trees. */
export function groupMemory(roots, { withPss = false } = {}) {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      rss += rssBytes(pid);
      if (withPss) pss += pssBytes(pid);
      processes += 1;
    }
  }
  return { rss, pss: withPss ? pss : undefined, processes };
}

/** Snapshot of every role of a contender: { role: { cpu, rss } }. */
export function snapshotCpu(roles) {
  const out = {};
  for (const [role, pids] of Object.entries(roles)) out[role] = groupCpuSeconds(pids);
  return out;
}

export function snapshotMemory(roles, options) {
  const out = {};
  for (const [role, pids] of Object.entries(roles)) out[role] = groupMemory(pids, options);
  return out;
}

/** Samples the memory of each role every `intervalMs` until stopped; keeps the peak RSS. */
export function startMemorySampler(roles, intervalMs = 100) {
  const peak = {};
  const baseline = snapshotMemory(roles);
  for (const [role, mem] of Object.entries(baseline)) peak[role] = mem.rss;
  let samples = 0;
  const timer = setInterval(() => {
    samples += 1;
    for (const [role, mem] of Object.entries(snapshotMemory(roles))) peak[role] = Math.max(peak[role], mem.rss);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const result = {};
      for (const role of Object.keys(roles)) {
        result[role] = { baseline: baseline[role].rss, peak: peak[role], growth: peak[role] - baseline[role].rss };
      }
      return { samples, roles: result };
    },
  };
}

/**
 * Busy CPU seconds of processes on the whole machine (all cores), from /proc/stat: user, nice
 * and system. Interrupt and softirq time are left out: loopback traffic of the bench itself is
 * processed there and is not attributed to any process.
 */
export function systemBusySeconds() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system) / CLOCK_TICKS;
}

/**
 * Measures how much of the machine processes outside the bench used meanwhile: the machine's
 * busy time minus that of the given process trees (contender and load generators), as a share
 * of all cores. Other work on a shared machine shows up here, and makes a result noisy.
 */
export function startForeignCpuMeter(rootPids, cores) {
  const started = performance.now();
  const system = systemBusySeconds();
  const ours = groupCpuSeconds(rootPids);
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const foreign = systemBusySeconds() - system - (groupCpuSeconds(rootPids) - ours);
      return Math.max(0, foreign / (seconds * cores));
    },
  };
}

export function loadAverage() {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}
