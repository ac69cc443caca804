/**
 * Names and labels are text for a person, shown to people of other workspaces too (a share's
 * joiners appear in the sharer's `connect share list`). One definition of what such text must
 * not contain, for the hub, which refuses it at input, and for the CLI, which escapes it on output
 * (rows written before the hub refused it, or by a hub that does not).
 *
 * - C0 and C1 control characters and DEL (\p{Cc}): ESC and CSI start terminal escape sequences
 *   (clear the screen, retitle the window, rewrite earlier lines), BEL rings, NUL is refused by
 *   PostgreSQL, line breaks forge extra table rows;
 * - the line and paragraph separators U+2028 and U+2029, line breaks by another name;
 * - bidirectional formatting (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069): U+202E
 *   makes "gpj.exe" read as "exe.jpg", so one name could pass for another;
 * - unpaired UTF-16 surrogates, which are no character at all and cannot be stored as UTF-8.
 *
 * Letters of any script, emoji (with their zero-width joiners) and spaces are ordinary text.
 */
const UNPRINTABLE_SOURCE =
  "[\\p{Cc}\\u2028\\u2029\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]";
const UNPRINTABLE = new RegExp(UNPRINTABLE_SOURCE, "u");
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE_SOURCE, "gu");

/** The first character of `text` that a display name must not contain, as U+XXXX, if any. */
export function findUnprintableCharacter(text: string): string | undefined {
  const code = UNPRINTABLE.exec(text)?.[0].codePointAt(0);
  return code === undefined ? undefined : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * `text` with every such character written out as visible text (ESC as \x1b, U+202E as \u202e,
 * a newline as \n), so that it reaches a terminal as characters to read, never as commands.
 */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE_ALL, (character) => {
    const short = SHORT_ESCAPES[character];
    if (short !== undefined) return short;
    const code = character.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
