import { format } from "node:util";
import { vi } from "vitest";

/**
 * Runs a command in-process and collects what it printed (oclif writes through console.log and
 * console.error). Failing commands report through BaseCommand.catch (stderr and
 * process.exitCode), which is put back afterwards.
 */
export async function captureOutput(run: () => Promise<unknown>): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const output = { stdout: "", stderr: "" };
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  const logSpy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    output.stdout += `${format(...args)}\n`;
  });
  const errorSpy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    output.stderr += `${format(...args)}\n`;
  });
  try {
    await run();
  } finally {
    logSpy.mockRestore();
    errorSpy.mockRestore();
  }
  const exitCode = typeof process.exitCode === "number" ? process.exitCode : 0;
  process.exitCode = previousExitCode;
  return { ...output, exitCode };
}
