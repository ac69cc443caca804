import { spawn } from "node:child_process";
import { constants } from "node:os";
import { ConnectError } from "../errors.js";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Runs `command` directly, never through a shell (its arguments are passed as they are: no
 * globbing, no `$VAR`, no `;`), with the terminal as its stdio, and resolves with the exit
 * code to pass on: its own, or 128 + the signal's number when a signal ended it, as shells do.
 * SIGINT and SIGTERM sent to connect are passed to it, so it can shut down cleanly first.
 */
export function runExec(command: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...args] = command;
  if (file === undefined || file === "") {
    return Promise.reject(
      new ConnectError("INVALID_INPUT", "Give the command after --, for example connect dev --exec -- npm run dev"),
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { shell: false, stdio: "inherit", env });
    const forward = (signal: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const stopForwarding = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      stopForwarding();
      const reason = error.code === "ENOENT" ? "not found on PATH" : error.code === "EACCES" ? "not executable" : error.message;
      reject(new ConnectError("INVALID_INPUT", `Cannot run ${file}: ${reason}; give the program and its arguments after --`));
    });
    child.once("exit", (code, signal) => {
      stopForwarding();
      if (code !== null) resolve(code);
      else resolve(128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
    });
  });
}
