import type { Socket } from "node:net";
import type { Deadline } from "./deadline.js";

/** What one protocol probe found on an open stream. */
export interface ProbeResult {
  isHealthy: boolean;
  summary: string;
  details: Record<string, string | number | boolean>;
  /** When not healthy: what failed and what to do next. */
  problem?: string;
  /** From the probe's first byte sent (or its wait for the first byte) to the answer; null: none came. */
  probeMs: number | null;
}

export interface ProbeOptions {
  deadline: Deadline;
  /** The name the service is checked by; the HTTP probe's Host header. */
  serviceName?: string;
}

/** A probe works on a connected socket and may close it; it never throws for what the service does. */
export type Probe = (socket: Socket, options: ProbeOptions) => Promise<ProbeResult>;

/** Milliseconds since `startedAt` (a performance.now() reading), to a tenth. */
export function elapsedSince(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 10) / 10;
}

/** The end of a wait that was not an answer, said for a person. */
export function describeNoAnswer(outcome: "closed" | "timeout" | "overflow" | "error", what: string, error?: Error): string {
  switch (outcome) {
    case "closed":
      return `the service closed the connection before ${what}`;
    case "timeout":
      return `the service accepted the connection, then went quiet: ${what} did not come within the timeout`;
    case "overflow":
      return `the service sent far more than ${what} should be, so the check stopped reading`;
    case "error":
      return `the connection failed before ${what}${error === undefined ? "" : ` (${(error as NodeJS.ErrnoException).code ?? error.message})`}`;
  }
}
