// connect daemon install|status|uninstall and connect logs as a user runs them: the built CLI as
// a child process. systemctl and loginctl are stand-ins on PATH that record their arguments (no
// systemd runs a test's unit); systemd-analyze verify checks the unit the CLI wrote.
import { execFile, spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { appendFile, chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { AGENT_BIN, connect, makeTempDir } from "../support/processes.ts";

const ANALYZE = "/usr/bin/systemd-analyze";

/** A home with a registered-looking agent in ~/.private-connect, and stand-in service tools. */
async function prepareMachine(): Promise<{ home: string; configDir: string; bin: string; calls: string }> {
  const home = await makeTempDir("daemon");
  const configDir = join(home, ".private-connect");
  await mkdir(configDir, { mode: 0o700 });
  await writeFile(join(configDir, "identity.json"), "{}\n", { mode: 0o600 });
  const bin = join(home, "bin");
  await mkdir(bin);
  const calls = join(home, "calls.log");
  const tool = (name: string, body: string) =>
    writeFile(join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${calls}"\n${body}\n`, { mode: 0o755 });
  await tool(
    "systemctl",
    [
      'case "$*" in',
      '  "--version") echo "systemd 252 (252.39)";;',
      "  *is-active*) echo inactive; exit 3;;",
      "  *is-enabled*) echo disabled; exit 1;;",
      "esac",
      "exit 0",
    ].join("\n"),
  );
  await tool("loginctl", "echo yes");
  return { home, configDir, bin, calls };
}

describe("connect daemon", () => {
  it("installs a user unit systemd accepts, shows it in status, and uninstall removes it", async () => {
    const { home, configDir, bin, calls } = await prepareMachine();
    const env = { PATH: `${bin}:${process.env.PATH ?? ""}` };
    const installed = await connect(["daemon", "install"], { configDir, env });
    expect(installed.stderr).toBe("");
    expect(installed.code).toBe(0);
    const unitPath = join(home, ".config", "systemd", "user", "private-connect-agent.service");
    expect(installed.stdout).toContain(`Installed private-connect-agent.service at ${unitPath} and started it`);
    const unit = await readFile(unitPath, "utf8");
    expect(unit).toContain(`\nExecStart=${realpathSync(process.execPath)} `);
    expect(unit).toContain(` up --config ${configDir}\n`);
    expect((await readFile(calls, "utf8")).split("\n")).toEqual(
      expect.arrayContaining(["systemctl --user daemon-reload", "systemctl --user enable --now private-connect-agent.service"]),
    );

    if (existsSync(ANALYZE)) {
      const runtimeDir = join(home, "runtime");
      await mkdir(runtimeDir, { mode: 0o700 });
      const verified = await promisify(execFile)(ANALYZE, ["--user", "verify", unitPath], {
        env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir },
      });
      expect(verified.stderr).toBe("");
    } else {
      console.warn(`Skipping systemd-analyze verify of the written unit: ${ANALYZE} is not installed`);
    }

    const status = await connect(["daemon", "status"], { configDir, env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Service:  private-connect-agent.service, user unit at ${unitPath}`);
    expect(status.stdout).toContain("Manager:  inactive, disabled");

    const removed = await connect(["daemon", "uninstall"], { configDir, env });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`Removed ${unitPath}`);
    await expect(stat(unitPath)).rejects.toThrow(/ENOENT/);
    expect(await readFile(calls, "utf8")).toContain("systemctl --user disable --now private-connect-agent.service\n");
  });

  it("without systemctl prints the unit and where it goes, and exits non-zero", async () => {
    const { home, configDir } = await prepareMachine();
    const empty = join(home, "empty-path");
    await mkdir(empty);
    await chmod(empty, 0o755);
    const result = await connect(["daemon", "install"], { configDir, env: { PATH: empty } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Error: systemctl is not available on this machine (no systemd?), so nothing was started");
    expect(result.stdout).toContain("[Service]\nType=exec\n");
    expect(result.stdout).toContain("  systemctl --user enable --now private-connect-agent.service");
  });
});

describe("connect logs --follow", () => {
  it("prints appended lines scrubbed and exits 0 on Ctrl-C", async () => {
    const { configDir } = await prepareMachine();
    const log = join(configDir, "agent.log");
    await writeFile(log, "2030-01-01T00:00:00.000Z Agent started\n");
    const child = spawn(process.execPath, [AGENT_BIN, "logs", "--follow", "--config", configDir], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const waitForOutput = async (text: string) => {
      const deadline = Date.now() + 15_000;
      while (!stdout.includes(text)) {
        if (Date.now() > deadline) throw new Error(`connect logs --follow did not print "${text}"; printed: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    try {
      await waitForOutput("Agent started");
      await appendFile(log, `2030-01-01T00:00:01.000Z Share code: K7QX-9MZP-R2TW-4HNC token ${"ab".repeat(32)}\n`);
      await waitForOutput("Share code: [REDACTED] token [REDACTED]\n");
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(stdout).not.toContain("K7QX-9MZP");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
