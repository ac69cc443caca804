import { escapeUnprintable } from "@private-connect/protocol";

const SHORT_ESCAPES: Record<number, string> = { 9: "\\t", 10: "\\n", 13: "\\r", 92: "\\\\" };

/**
 * Bytes a service sent, as one line a terminal shows as is: printable ASCII stays, everything
 * else is written \xHH (or \r, \n, \t), so a hostile banner cannot drive the terminal. At most
 * `maxBytes` are shown, then "..." with how many more there were.
 */
export function formatPrintableBytes(bytes: Uint8Array, maxBytes = 64): string {
  let text = "";
  for (const byte of bytes.subarray(0, maxBytes)) {
    const short = SHORT_ESCAPES[byte];
    if (short !== undefined) text += short;
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return bytes.length > maxBytes ? `${text}... (${bytes.length - maxBytes} more bytes)` : text;
}

/** A text field of a protocol answer (a version, a header), cut to `maxLength`, control characters written out. */
export function formatPrintableText(text: string, maxLength = 200): string {
  return escapeUnprintable(text.length > maxLength ? `${text.slice(0, maxLength)}...` : text);
}
