import { execFile } from "node:child_process";

export interface CommandResult {
  /** 127 when the program is not installed, as a shell would say. */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with arguments (no shell). Injected, so tests see the systemctl calls without systemd. */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

export const COMMAND_NOT_FOUND = 127;
const TIMEOUT_MS = 30_000;

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve) => {
    execFile(command, [...args], { timeout: TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error === null) {
        resolve({ exitCode: 0, stdout, stderr });
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        resolve({ exitCode: COMMAND_NOT_FOUND, stdout: "", stderr: `${command}: command not found` });
        return;
      }
      // A timeout or a signal has no exit code: still a failure (1), with the reason in stderr.
      const exitCode = typeof code === "number" && code !== 0 ? code : 1;
      resolve({ exitCode, stdout, stderr: stderr || error.message });
    });
  });

/** The first line a failed command printed, for a one-line error message. */
export function describeFailure(command: string, args: readonly string[], result: CommandResult): string {
  const said = (result.stderr.trim() || result.stdout.trim()).split("\n")[0] ?? "";
  return `${[command, ...args].join(" ")} failed (exit ${result.exitCode})${said === "" ? "" : `: ${said}`}`;
}
