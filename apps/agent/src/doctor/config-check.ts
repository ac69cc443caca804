import { lstat } from "node:fs/promises";
import { basename } from "node:path";
import type { ConfigPaths } from "../config/paths.js";
import { type DoctorCheck, describeFailure, fail, pass } from "./check.js";

const NAME = "config";

export interface ConfigCheckOptions {
  /** The user the agent runs as (process.getuid()); undefined where there are no uids (Windows). */
  uid: number | undefined;
  /** For the chown fix line. */
  userName: string;
}

function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/** The files the agent writes into its config directory: all of them owner-only (the token, its log, its pid). */
function listPrivateFiles(paths: ConfigPaths): string[] {
  return [paths.identity, paths.state, paths.lastStop, paths.pid, paths.log];
}

/**
 * The config directory exists, is 0700 and owned by this user, and the files in it are neither
 * group- nor world-readable: identity.json holds the agent token, a bearer secret like an SSH key.
 */
export async function checkConfigDir(paths: ConfigPaths, options: ConfigCheckOptions): Promise<DoctorCheck> {
  const dir = await lstat(paths.dir).catch((error: NodeJS.ErrnoException) => error);
  if (dir instanceof Error) {
    if (dir.code === "ENOENT") {
      return fail(
        NAME,
        `${paths.dir} does not exist: this machine has no agent here`,
        "register this machine: connect up --hub URL --api-key KEY (it creates the directory 0700)",
      );
    }
    return fail(
      NAME,
      `Cannot read ${paths.dir}: ${describeFailure(dir)}`,
      `check the path and its permissions: ls -ld ${paths.dir}`,
    );
  }
  if (!dir.isDirectory()) {
    return fail(NAME, `${paths.dir} is not a directory`, "move it away, or pass --config DIR to the agent's directory");
  }
  const problems: string[] = [];
  const fixes: string[] = [];
  const foreign: string[] = [];
  if (options.uid !== undefined && dir.uid !== options.uid) foreign.push(paths.dir);
  if ((dir.mode & 0o077) !== 0) {
    problems.push(`directory is ${formatMode(dir.mode)}, not 0700`);
    fixes.push(`chmod 700 ${paths.dir}`);
  }
  const loose: string[] = [];
  for (const path of listPrivateFiles(paths)) {
    const file = await lstat(path).catch(() => undefined);
    if (file === undefined) continue;
    if (options.uid !== undefined && file.uid !== options.uid) foreign.push(path);
    if ((file.mode & 0o077) !== 0) {
      problems.push(`${basename(path)} is ${formatMode(file.mode)}, readable or writable by others`);
      loose.push(path);
    }
  }
  if (loose.length > 0) fixes.push(`chmod 600 ${loose.join(" ")}`);
  if (foreign.length > 0) {
    // Another user's directory: they can read or replace the token, whatever the modes say.
    problems.unshift(`owned by another user: ${foreign.map((path) => basename(path)).join(", ")}`);
    fixes.unshift(`sudo chown -R ${options.userName} ${paths.dir}`);
  }
  if (problems.length > 0) return fail(NAME, `${paths.dir}: ${problems.join("; ")}`, fixes.join(" && "));
  return pass(NAME, `${paths.dir} is 0700, its files owner-only, all owned by ${options.userName}`);
}
