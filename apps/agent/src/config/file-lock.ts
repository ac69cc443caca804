import { open, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectError } from "../errors.js";

const RETRY_MS = 15;
/** A lock older than this was left by a process that died holding it. */
const STALE_LOCK_MS = 10_000;
const WAIT_LIMIT_MS = 5_000;

/**
 * Runs `update` while holding `<path>.lock`, so the agent and a `connect` command changing the
 * same file at once each see the other's change (read, change, write) instead of one losing it.
 * The lock is a file made with O_EXCL: portable, and nothing to install.
 */
export async function withFileLock<T>(path: string, update: () => Promise<T>): Promise<T> {
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, "wx", 0o600);
      await handle.close();
      break;
    } catch (error) {
      if (!(error instanceof Error && "code" in error && error.code === "EEXIST")) throw error;
      const age = await ageOf(lockPath);
      if (age !== undefined && age > STALE_LOCK_MS) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new ConnectError(
          "CONFIG_UNREADABLE",
          `${path} stayed locked by another connect process for ${WAIT_LIMIT_MS / 1000} s: try again, or remove ${lockPath} if no connect process runs`,
        );
      }
      await sleep(RETRY_MS);
    }
  }
  try {
    return await update();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function ageOf(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}
