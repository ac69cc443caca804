import { readFile, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import type { ConfigPaths } from "../config/paths.js";

export interface RunningAgent {
  /** Undefined when the socket answers but the pid file is missing or unreadable. */
  pid: number | undefined;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else, so it is alive.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const text = await readFile(path, "utf8");
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function writePidFile(path: string): Promise<void> {
  await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
}

/** Removes the pid file only if it is still ours, so a late cleanup never erases a successor's. */
export async function removeOwnPidFile(path: string): Promise<void> {
  if ((await readPidFile(path)) === process.pid) await rm(path, { force: true });
}

/** Whether something accepts connections on the unix socket (bounded by `timeoutMs`). */
export function canConnectToSocket(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    const finish = (isListening: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(isListening);
    };
    // A process that holds the socket but is too busy to accept is still running.
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

/**
 * Finds the agent serving this config directory. The control socket is the source of truth:
 * the daemon listens on it before writing its pid file and closes it before removing the pid
 * file, so a socket nobody answers on, or a pid file without a live socket, is left over from
 * an agent that died (or a pid the OS has since reused), and is cleaned up here.
 */
export async function findRunningAgent(paths: ConfigPaths): Promise<RunningAgent | undefined> {
  const pid = await readPidFile(paths.pid);
  if (await canConnectToSocket(paths.socket)) return { pid };
  await rm(paths.socket, { force: true });
  await rm(paths.pid, { force: true });
  return undefined;
}
