import { statSync } from "node:fs";

/**
 * A cheap token that changes whenever the file at `path` is replaced or rewritten (modification
 * time, size and inode), or undefined when there is none.
 */
export function fileVersionOf(path: string): string | undefined {
  try {
    const stats = statSync(path);
    return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * How a running agent notices that another process (connect trust, connect workspace-key
 * install) changed a file it keeps in memory. One stream open asks several times (the pins, the
 * certificate, before and after its handshake's first message), so the file is looked at once
 * per synchronous run at most: a system call per question would sit on every stream open.
 */
export class FileChangeWatch {
  #seen: string | undefined;
  #isLookedAtThisRun = false;
  readonly #endRun = (): void => {
    this.#isLookedAtThisRun = false;
  };

  constructor(private readonly path: string) {
    this.#seen = fileVersionOf(path);
  }

  /** Whether the file changed since it was last seen (and it now counts as seen). */
  hasChanged(): boolean {
    if (this.#isLookedAtThisRun) return false;
    this.#isLookedAtThisRun = true;
    queueMicrotask(this.#endRun);
    const version = fileVersionOf(this.path);
    if (version === this.#seen) return false;
    this.#seen = version;
    return true;
  }

  /** The file as it is now counts as seen: after this process wrote it itself. */
  markSeen(): void {
    this.#seen = fileVersionOf(this.path);
  }
}
