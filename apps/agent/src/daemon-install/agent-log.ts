import { type FileHandle, open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as delay } from "node:timers/promises";

const CHUNK_BYTES = 64 * 1024;
/** A "line" that never ends is still shown, in pieces of this size, rather than held forever. */
const MAX_LINE_CHARS = 64 * 1024;

export interface LogTail {
  lines: string[];
  /** Where following should go on from: the end of the last line returned. */
  endOffset: number;
}

/**
 * The last `count` lines of a log, read backwards from its end so a large agent.log costs
 * what is shown. With `isCompleteOnly` a last line still being written is left for following.
 */
export async function readLogTail(path: string, count: number, options: { isCompleteOnly: boolean }): Promise<LogTail> {
  const handle = await open(path, "r");
  try {
    const size = (await handle.stat()).size;
    let start = size;
    const chunks: Buffer[] = [];
    let newlines = 0;
    // count + 1 line breaks: the one before the first line shown, plus one per line.
    while (start > 0 && newlines <= count) {
      const length = Math.min(CHUNK_BYTES, start);
      start -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, start);
      chunks.unshift(chunk);
      for (const byte of chunk) if (byte === 0x0a) newlines += 1;
    }
    const bytes = Buffer.concat(chunks);
    let endOffset = size;
    let body = bytes;
    if (options.isCompleteOnly) {
      const lastBreak = bytes.lastIndexOf(0x0a);
      body = lastBreak === -1 ? Buffer.alloc(0) : bytes.subarray(0, lastBreak + 1);
      endOffset = start + body.length;
    }
    const lines = body.toString("utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    // The first piece is a partial line unless reading reached the start of the file.
    if (start > 0) lines.shift();
    return { lines: count === 0 ? [] : lines.slice(-count).map(stripCarriageReturn), endOffset };
  } finally {
    await handle.close();
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

export interface FollowOptions {
  path: string;
  /** Byte offset to start from (readLogTail's endOffset). */
  offset: number;
  onLine: (line: string) => void;
  /** Rotation and truncation, said once each time (stderr). */
  onNotice: (text: string) => void;
  /** Following ends when this aborts (Ctrl-C). */
  signal: AbortSignal;
  pollMs: number;
}

/**
 * Like tail -F: prints lines appended to the log as they come, polling (the same on every
 * platform and file system). A log that shrank was truncated: read again from its start. A
 * path that names another file was rotated: finish the old file, then read the new one.
 */
export async function followLog(options: FollowOptions): Promise<void> {
  const { path, signal } = options;
  let handle: FileHandle | undefined = await open(path, "r").catch(() => undefined);
  let inode = handle === undefined ? undefined : (await handle.stat()).ino;
  let position = options.offset;
  let pending = "";
  let decoder = new StringDecoder("utf8");
  const buffer = Buffer.alloc(CHUNK_BYTES);

  const emit = (text: string) => {
    pending += text;
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      options.onLine(stripCarriageReturn(pending.slice(0, newline)));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
    while (pending.length > MAX_LINE_CHARS) {
      options.onLine(pending.slice(0, MAX_LINE_CHARS));
      pending = pending.slice(MAX_LINE_CHARS);
    }
  };
  const drain = async (from: FileHandle) => {
    for (;;) {
      const { bytesRead } = await from.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      emit(decoder.write(buffer.subarray(0, bytesRead)));
    }
  };

  try {
    while (!signal.aborted) {
      if (handle !== undefined) {
        if ((await handle.stat()).size < position) {
          options.onNotice(`${path} was truncated: reading it from the start`);
          position = 0;
          pending = "";
          decoder = new StringDecoder("utf8");
        }
        await drain(handle);
      }
      const current = await stat(path).catch(() => undefined);
      if (current !== undefined && current.ino !== inode) {
        if (handle !== undefined) {
          await drain(handle);
          await handle.close();
          options.onNotice(`${path} was rotated: following the new file`);
        }
        handle = await open(path, "r").catch(() => undefined);
        inode = handle === undefined ? undefined : (await handle.stat()).ino;
        position = 0;
        decoder = new StringDecoder("utf8");
        if (pending !== "") emit("\n");
        continue;
      }
      await delay(options.pollMs, undefined, { signal }).catch(() => undefined);
    }
    // Ctrl-C: what was read of an unfinished last line is shown too.
    if (pending !== "") options.onLine(pending);
  } finally {
    await handle?.close();
  }
}
