import { createScrubbingLogger, type Logger } from "@private-connect/log-hygiene/pino";
import { type DestinationStream, pino } from "pino";

export type { Logger };

/**
 * Structured JSON logs on stdout, one object per line, fit for a SIEM. Every line is scrubbed
 * at every level: secrets become [REDACTED], IP addresses are masked, byte buffers are reduced
 * to their size (packages/log-hygiene). `destination` is for tests that read the lines back.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return createScrubbingLogger(
    { level, base: { service: "connect-hub" }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  );
}
