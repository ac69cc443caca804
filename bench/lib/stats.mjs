// Percentiles and summaries of latency samples (milliseconds).
export function percentile(samples, p) {
  if (!samples || samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(samples) {
  if (!samples || samples.length === 0) return { count: 0 };
  const sum = samples.reduce((a, b) => a + b, 0);
  return {
    count: samples.length,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: Math.max(...samples),
    mean: sum / samples.length,
  };
}

export const MB = 1e6;
export const GB = 1e9;
export const KiB = 1024;
export const MiB = 1024 * 1024;
