import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * One hub per data directory. PGlite's files must never be opened by two processes, and
 * the admin socket lives there too, so the hub takes this lock before it opens anything,
 * and admin commands check it before they would open the database themselves.
 */
export class DataDirLockedError extends Error {}

function lockPath(dataDir: string): string {
  return join(dataDir, "hub.pid");
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of a live hub holding `dataDir`, if any (a stale lock counts as none). */
export async function readLiveHubPid(dataDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(lockPath(dataDir), "utf8");
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isProcessAlive(pid) ? pid : undefined;
}

export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = lockPath(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = await readLiveHubPid(dataDir);
      if (holder !== undefined) {
        throw new DataDirLockedError(
          `Another hub (pid ${holder}) is using ${dataDir}: stop it first, or start this one with another --data`,
        );
      }
      // The previous hub died without cleaning up: take over its lock.
      await rm(path, { force: true });
    }
  }
  throw new DataDirLockedError(`Cannot lock ${dataDir}: remove ${path} if no hub is running`);
}
