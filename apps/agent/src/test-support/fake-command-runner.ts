import type { CommandResult, CommandRunner } from "../daemon-install/command-runner.js";
import type { DaemonHost } from "../daemon-install/daemon-host.js";

export type FakeAnswer = Partial<CommandResult> | ((args: readonly string[]) => Partial<CommandResult>);

/**
 * A CommandRunner that records every call and answers from a table keyed by "command arg1 arg2"
 * prefixes (the longest matching key wins); unknown commands succeed with no output.
 */
export function createFakeRunner(answers: Record<string, FakeAnswer> = {}): { runner: CommandRunner; calls: string[] } {
  const calls: string[] = [];
  const runner: CommandRunner = async (command, args) => {
    const line = [command, ...args].join(" ");
    calls.push(line);
    const key = Object.keys(answers)
      .filter((candidate) => line === candidate || line.startsWith(`${candidate} `))
      .sort((a, b) => b.length - a.length)[0];
    const answer = key === undefined ? {} : answers[key];
    const result = typeof answer === "function" ? answer(args) : (answer ?? {});
    return { exitCode: 0, stdout: "", stderr: "", ...result };
  };
  return { runner, calls };
}

export function createFakeHost(overrides: Partial<DaemonHost> & Pick<DaemonHost, "homeDir" | "runner">): DaemonHost {
  return {
    platform: "linux",
    uid: 1000,
    userName: "alice",
    sudoUser: undefined,
    systemUnitDir: `${overrides.homeDir}/etc-systemd-system`,
    ...overrides,
  };
}
