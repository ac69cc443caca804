import { setTimeout as sleep } from "node:timers/promises";
import type { CheckReport, CheckServiceRequest } from "../check/check-service.js";

export type CheckServiceCall = (request: CheckServiceRequest) => Promise<CheckReport>;

/** One probe's own bound: shorter than the whole wait, so a hung probe is retried in time. */
const MAX_PROBE_MS = 10_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2_000;
/** The shortest probe checkService takes. */
const MIN_PROBE_MS = 100;

export interface WaitOutcome {
  /** The last report: healthy when the service answered before the deadline. */
  report: CheckReport;
  attempts: number;
}

/**
 * Checks the service until it answers as its protocol should, or `timeoutMs` has passed: a
 * service that was just reached may need a moment (its agent reconnecting, a database starting).
 * Bounded in time by the deadline and in count by the growing pause between attempts.
 */
export async function waitUntilAnswering(
  check: CheckServiceCall,
  request: Omit<CheckServiceRequest, "timeoutMs">,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<WaitOutcome> {
  const deadline = now() + timeoutMs;
  let pause = FIRST_RETRY_MS;
  for (let attempts = 1; ; attempts += 1) {
    const remaining = Math.max(MIN_PROBE_MS, deadline - now());
    const report = await check({ ...request, timeoutMs: Math.min(MAX_PROBE_MS, remaining) });
    if (report.isHealthy || now() + pause >= deadline) return { report, attempts };
    await sleep(pause);
    pause = Math.min(MAX_RETRY_MS, pause * 2);
  }
}
