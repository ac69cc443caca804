import { statSync } from "node:fs";

/**
 * A cheap token that changes whenever the file at `path` is replaced or rewritten (modification
 * time, size and inode), or undefined when there is none: how a running agent notices that
 * another process (connect trust, connect workspace-key install) changed a file it keeps in memory.
 */
export function fileVersionOf(path: string): string | undefined {
  try {
    const stats = statSync(path);
    return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
  } catch {
    return undefined;
  }
}
