// The pino side of log hygiene, apart from the main entry so the agent (which does not use pino)
// never loads it. `@private-connect/log-hygiene/pino`.
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";
import { scrubJsonLine, scrubText } from "./scrub-text.js";
import { scrubFields, scrubSecrets } from "./scrub-value.js";

function scrubArgument(value: unknown): unknown {
  return typeof value === "string" ? scrubText(value) : scrubSecrets(value);
}

/**
 * Scrubs every argument of a log call before pino sees it: the merge object (at any depth, with
 * errors turned into scrubbed { type, message, stack, cause }), the message and its
 * interpolation values.
 */
function logMethod(this: Logger, args: unknown[], method: (...args: unknown[]) => void): void {
  const [first, ...rest] = args;
  let head: unknown;
  // pino logs an Error passed first under `err`, with its message as the line's message.
  if (first instanceof Error) head = { err: scrubSecrets(first) };
  else if (typeof first === "object" && first !== null && !Array.isArray(first))
    head = scrubFields(first as Record<string, unknown>);
  else head = scrubArgument(first);
  method.apply(this, [head, ...rest.map(scrubArgument)]);
}

/**
 * The options that make a pino logger scrub. Three layers: arguments (logMethod), child
 * bindings (formatters.bindings), and a last pass over each finished JSON line (streamWrite)
 * that catches what a serializer or a future code path might add. The last pass never consumes
 * a quote or a backslash, so the line stays valid JSON.
 */
export function scrubbingPinoOptions(): Pick<LoggerOptions, "hooks" | "formatters" | "serializers"> {
  return {
    hooks: {
      logMethod: logMethod as NonNullable<LoggerOptions["hooks"]>["logMethod"],
      streamWrite: (line) => scrubJsonLine(line),
    },
    formatters: {
      bindings: (bindings) => scrubFields(bindings),
    },
    // The errors are already plain scrubbed objects; pino's default serializer would rename them.
    serializers: { err: (value: unknown) => (value instanceof Error ? scrubSecrets(value) : value) },
  };
}

/**
 * A pino logger that scrubs secrets and masks IP addresses in everything it writes, in every
 * environment and at every level. `options` may not set hooks, bindings formatters or the err
 * serializer: those are what make it safe.
 */
export function createScrubbingLogger(options: Omit<LoggerOptions, "hooks"> = {}, destination?: DestinationStream): Logger {
  const safe = scrubbingPinoOptions();
  const merged: LoggerOptions = {
    ...options,
    hooks: safe.hooks,
    formatters: { ...options.formatters, ...safe.formatters },
    serializers: { ...options.serializers, ...safe.serializers },
  };
  return destination === undefined ? pino(merged) : pino(merged, destination);
}

export type { Logger };
