import { ConnectError } from "../errors.js";

// A word systemd reads back unchanged without quotes: no whitespace, quotes, backslashes,
// specifiers (%) or variable references ($).
const PLAIN_WORD = /^[A-Za-z0-9_./:+,=@-]+$/;

/**
 * Refuses text that no unit file (nor plist) can carry on one line: a line break would end the
 * setting and start another one, which a path must never be able to do.
 */
export function assertWritableInServiceFile(value: string, what: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new ConnectError("INVALID_INPUT", `The ${what} contains a control character (a line break?): use a plain path`);
  }
}

/**
 * One argument of ExecStart=: systemd splits on whitespace, unquotes, expands %specifiers and
 * $VARIABLES, so anything beyond a plain word is double-quoted with those escaped.
 */
export function quoteExecArgument(value: string): string {
  if (PLAIN_WORD.test(value)) return value;
  const escaped = value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return `"${escaped}"`;
}

/** A path in a space-separated list setting (ReadWritePaths=): quoted, specifiers escaped. */
export function quoteListPath(value: string): string {
  if (PLAIN_WORD.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%")}"`;
}

/** A value systemd takes to the end of the line (Description=, append:PATH): only specifiers escaped. */
export function escapeSpecifiers(value: string): string {
  return value.replace(/%/g, "%%");
}
