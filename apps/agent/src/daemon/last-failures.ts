import { ResetCode } from "@private-connect/protocol";
import { formatHostPort } from "../cli/format.js";

/** The last thing that went wrong with one reach or one exposure, for `connect status`. */
export interface FailureRecord {
  /** When the agent saw it (ISO 8601). */
  at: string;
  reason: string;
}

/**
 * One record per reach or exposure, the newest replacing the one before: a client retrying in a
 * loop costs no memory, and the person asking sees what is wrong now. Only names the caller says
 * exist are recorded, and a name's record goes with it (forget), so the map never outgrows the
 * agent's reaches and exposures.
 */
export class LastFailures {
  readonly #records = new Map<string, FailureRecord>();

  record(key: string, reason: string, at: Date): void {
    this.#records.set(key, { at: at.toISOString(), reason });
  }

  get(key: string): FailureRecord | undefined {
    const record = this.#records.get(key);
    return record === undefined ? undefined : { ...record };
  }

  forget(key: string): void {
    this.#records.delete(key);
  }
}

/** The key of a reach: its service, and the sharing workspace when it is a shared one. */
export function getReachFailureKey(reach: { service: string; from?: string | undefined }): string {
  return reach.from === undefined ? reach.service : `${reach.from}/${reach.service}`;
}

/**
 * Why the hub reset a stream of a reach, in the hub's own words (they name the service and what
 * to do), saying whether the open was refused or an open connection was cut.
 */
export function describeStreamReset(event: { code: number; reason: string; wasOpened: boolean }): string {
  const reason = event.reason.trim() === "" ? `reset by the hub (code ${event.code})` : event.reason;
  return event.wasOpened ? `connection cut: ${reason}` : `refused: ${reason}`;
}

/** Why an exposure's target could not be dialled: "target refused (ECONNREFUSED localhost:1)". */
export function describeTargetFailure(event: { host: string; port: number; code: string }): string {
  const where = formatHostPort(event.host, event.port);
  if (event.code === "ECONNREFUSED") return `target refused (ECONNREFUSED ${where}): is the service running there?`;
  if (event.code === "ENOTFOUND" || event.code === "EAI_AGAIN") return `target host not found (${event.code} ${where})`;
  if (event.code === "ETIMEDOUT") return `target did not answer (ETIMEDOUT ${where})`;
  return `cannot connect to the target (${event.code} ${where})`;
}

/** Resets that need no explanation: the local client or the peer closing normally. */
export function isUnremarkableReset(code: number): boolean {
  return code === ResetCode.CANCELLED;
}
