import { type DoctorCheck, fail, pass, skip, warn } from "./check.js";

const NAME = "clock";
/** Beyond this, expiry times shown here and at the hub disagree noticeably. */
export const CLOCK_SKEW_WARNING_MS = 30_000;
/** Beyond this, tokens and links expire (or live on) minutes off what this machine thinks. */
export const CLOCK_SKEW_FAILURE_MS = 5 * 60_000;

function formatSkew(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

/**
 * This machine's clock against the hub's, from the Date header of one answer. The hub stamped
 * it somewhere between sending and receiving, so the middle of the two is compared; the header
 * has whole seconds, far below the thresholds.
 */
export function checkClockSkew(
  answer: { date: string | undefined; sentAt: number; receivedAt: number } | undefined,
): DoctorCheck {
  if (answer === undefined) return skip(NAME, "not checked: the hub did not answer /healthz");
  const hubTime = answer.date === undefined ? Number.NaN : Date.parse(answer.date);
  if (Number.isNaN(hubTime)) return skip(NAME, "not checked: the hub's answer had no readable Date header");
  const skewMs = hubTime - (answer.sentAt + answer.receivedAt) / 2;
  const side = skewMs > 0 ? "behind" : "ahead of";
  const detail = `this machine's clock is ${formatSkew(skewMs)} ${side} the hub's`;
  const fix = "synchronize the clocks with NTP on this machine and the hub (timedatectl set-ntp true)";
  if (Math.abs(skewMs) > CLOCK_SKEW_FAILURE_MS) return fail(NAME, `${detail}: tokens and links expire by time`, fix);
  if (Math.abs(skewMs) > CLOCK_SKEW_WARNING_MS) return warn(NAME, detail, fix);
  // The header counts whole seconds: "within 0 s" would claim more than it can tell.
  return pass(NAME, `within ${formatSkew(Math.max(1000, Math.abs(skewMs)))} of the hub's`);
}
