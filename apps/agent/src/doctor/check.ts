/** How one doctor check came out. "skip": not checked, because a check it depends on failed. */
export type CheckStatus = "pass" | "warn" | "fail" | "skip";

/** One line of `connect doctor`: what was checked, what was found and, unless it passed, what to do. */
export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  /** One line: the command or change that fixes it. */
  fix?: string;
}

/** Every network step of the doctor gives up after this: the whole run must stay within seconds. */
export const NETWORK_TIMEOUT_MS = 2500;

export function pass(name: string, detail: string): DoctorCheck {
  return { name, status: "pass", detail };
}

export function warn(name: string, detail: string, fix?: string): DoctorCheck {
  return fix === undefined ? { name, status: "warn", detail } : { name, status: "warn", detail, fix };
}

export function fail(name: string, detail: string, fix?: string): DoctorCheck {
  return fix === undefined ? { name, status: "fail", detail } : { name, status: "fail", detail, fix };
}

export function skip(name: string, detail: string): DoctorCheck {
  return { name, status: "skip", detail };
}

/** Exit 0 only when every check passed: a warning or a check that could not run is not a clean bill. */
export function isHealthy(checks: readonly DoctorCheck[]): boolean {
  return checks.every((check) => check.status === "pass");
}

/** The short reason of a thrown value: its first line, led by its errno code (ECONNREFUSED) when the message lacks it. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error.message.split("\n")[0] ?? error.message;
    // System errors only (ECONNREFUSED, ENOTFOUND): a ConnectError's code is for programs, not people.
    const isErrno = typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
    return isErrno && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}

/**
 * Settles with `promise`, or rejects after `ms` with a message saying what did not answer. The
 * work itself may go on (dns.lookup cannot be cancelled); the caller stops waiting for it.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${formatSeconds(ms)}`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
