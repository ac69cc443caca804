// Preloaded (node --require) into the Private Connect hub and agents by the bench: counts full
// (mark-compact) garbage collections and keeps the running total in
// $BENCH_GC_COUNT_DIR/<pid>.json, so the throughput table can show them beside the CPU per GB.
// They were the hidden cost of relaying before the GC tuning (README, "Speed, measured").
// Observation only: nothing in the process changes.
const { PerformanceObserver, constants } = require("node:perf_hooks");
const { writeFileSync } = require("node:fs");

// Set by the bench (contenders.mjs), never by a user, and not a turbo task's input.
const { env } = process;
const dir = env.BENCH_GC_COUNT_DIR;
if (dir) {
  const file = `${dir}/${process.pid}.json`;
  let full = 0;
  const save = () => writeFileSync(file, JSON.stringify({ full }));
  new PerformanceObserver((list) => {
    const before = full;
    for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full += 1;
    if (full !== before) save();
  }).observe({ entryTypes: ["gc"] });
  save();
}
