import { scrubText } from "./scrub-text.js";

/** The part of a writable stream the guard replaces: `process.stdout`, `process.stderr`, a file. */
export interface WritableText {
  write(chunk: string | Uint8Array, ...rest: never[]): boolean;
}

const GUARDED = Symbol.for("private-connect.log-hygiene.guarded");

/**
 * Scrubs everything later written to `stream` (secrets redacted, addresses masked), for
 * processes whose output is their log: the agent daemon's stdout and stderr are agent.log. The
 * guard sits on `write`, so it also covers what libraries print (oclif's error lines, warnings).
 * Writes are scrubbed one call at a time; every writer here emits whole lines per call.
 * Installing it twice is harmless. Returns a function that removes it.
 */
export function scrubWrites(stream: WritableText): () => void {
  const target = stream as WritableText & { [GUARDED]?: boolean };
  if (target[GUARDED] === true) return () => {};
  const original = target.write;
  const guarded = function (this: unknown, chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    let scrubbed: string | Uint8Array = chunk;
    if (typeof chunk === "string") scrubbed = scrubText(chunk);
    else if (chunk instanceof Uint8Array) {
      const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("utf8");
      const clean = scrubText(text);
      if (clean !== text) scrubbed = clean;
    }
    // A string chunk written with an explicit encoding ("hex", "base64") is not text to scrub.
    if (typeof chunk === "string" && typeof rest[0] === "string" && !/^utf-?8$/i.test(rest[0])) scrubbed = chunk;
    return (original as (...args: unknown[]) => boolean).call(this, scrubbed, ...rest);
  };
  target.write = guarded as WritableText["write"];
  target[GUARDED] = true;
  return () => {
    target.write = original;
    target[GUARDED] = false;
  };
}

/**
 * Makes an uncaught exception end the process the way Node would (exit code 1) but print a
 * scrubbed stack: Node's own report is written straight to file descriptor 2, past any guard.
 */
export function scrubUncaughtErrors(write: (text: string) => void = (text) => process.stderr.write(text)): void {
  process.on("uncaughtException", (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    try {
      write(`${scrubText(text)}\n`);
    } finally {
      process.exit(1);
    }
  });
}
