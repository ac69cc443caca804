import { chown, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DaemonHost } from "../../daemon-install/daemon-host.js";
import { renderSystemdUnit } from "../../daemon-install/systemd-unit.js";
import { captureOutput } from "../../test-support/capture-output.js";
import { createFakeHost, createFakeRunner, type FakeAnswer } from "../../test-support/fake-command-runner.js";
import DaemonInstall from "./install.js";
import DaemonStatus from "./status.js";
import DaemonUninstall from "./uninstall.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

let dir: string;
let home: string;
let configDir: string;
let host: DaemonHost;
let calls: string[];

// The commands as they run, on a machine the test describes (its home, its systemctl's answers).
class TestInstall extends DaemonInstall {
  protected override createHost(): DaemonHost {
    return host;
  }
}
class TestStatus extends DaemonStatus {
  protected override createHost(): DaemonHost {
    return host;
  }
}
class TestUninstall extends DaemonUninstall {
  protected override createHost(): DaemonHost {
    return host;
  }
}

function useHost(answers: Record<string, FakeAnswer>, overrides: Partial<DaemonHost> = {}): void {
  const fake = createFakeRunner(answers);
  calls = fake.calls;
  host = createFakeHost({ homeDir: home, runner: fake.runner, ...overrides });
}

const SYSTEMD_252: Record<string, FakeAnswer> = {
  "systemctl --version": { stdout: "systemd 252 (252.39-1~deb12u2)\n+PAM +AUDIT\n" },
  "systemctl --user is-active": { exitCode: 3, stdout: "inactive\n" },
  "systemctl --user is-enabled": { exitCode: 1, stdout: "disabled\n" },
  "loginctl show-user alice": { stdout: "no\n" },
};

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "pc-daemon-")));
  home = join(dir, "home");
  configDir = join(home, ".private-connect-laptop");
  await mkdir(configDir, { recursive: true });
  await writeFile(join(configDir, "identity.json"), "{}\n");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const unitPath = () => join(home, ".config", "systemd", "user", "private-connect-agent-laptop.service");

describe("connect daemon install", () => {
  it("writes the user unit for the config directory and enables it now through systemctl --user", async () => {
    useHost(SYSTEMD_252);
    const result = await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const written = await readFile(unitPath(), "utf8");
    expect(written).toBe(
      renderSystemdUnit(
        {
          name: "private-connect-agent-laptop",
          nodePath: await realpath(process.execPath),
          scriptPath: await realpath(join(ROOT, "bin", "run.js")),
          configDir,
          logPath: join(configDir, "agent.log"),
          environment: {},
        },
        { scope: "user", systemdVersion: 252 },
      ),
    );
    expect(written).toContain(`ExecStart=${await realpath(process.execPath)} `);
    expect((await stat(unitPath())).mode & 0o777).toBe(0o644);
    expect(calls).toEqual([
      "systemctl --user is-active private-connect-agent-laptop.service",
      "systemctl --user is-enabled private-connect-agent-laptop.service",
      "systemctl --version",
      "systemctl --user daemon-reload",
      "systemctl --user enable --now private-connect-agent-laptop.service",
      "loginctl show-user alice --property=Linger --value",
    ]);
    expect(result.stdout).toContain(`Installed private-connect-agent-laptop.service at ${unitPath()} and started it`);
    expect(result.stdout).toContain("loginctl enable-linger alice");
  });

  it("restarts a service that already runs so the rewritten unit takes effect", async () => {
    useHost({
      ...SYSTEMD_252,
      "systemctl --user is-active": { stdout: "active\n" },
      "loginctl show-user alice": { stdout: "yes\n" },
    });
    const result = await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(calls.slice(-3)).toEqual([
      "systemctl --user enable --now private-connect-agent-laptop.service",
      "systemctl --user restart private-connect-agent-laptop.service",
      "loginctl show-user alice --property=Linger --value",
    ]);
    expect(result.stdout).not.toContain("enable-linger");
  });

  it("without systemd says so, prints the unit and where it goes, and exits non-zero", async () => {
    useHost({}); // every command "not found"
    host = { ...host, runner: async (command) => ({ exitCode: 127, stdout: "", stderr: `${command}: command not found` }) };
    const result = await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("Error: systemctl is not available on this machine (no systemd?), so nothing was started");
    const unit = await readFile(unitPath(), "utf8");
    expect(result.stdout).toContain(unit);
    expect(result.stdout).toContain(`Written to ${unitPath()}; where systemd runs, start it with:`);
    expect(result.stdout).toContain("  systemctl --user enable --now private-connect-agent-laptop.service");
  });

  it("when systemctl fails (no user manager in a container) says what failed and exits non-zero", async () => {
    useHost({
      ...SYSTEMD_252,
      "systemctl --user daemon-reload": { exitCode: 1, stderr: "Failed to connect to bus: No medium found\n" },
    });
    const result = await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      "Error: systemctl --user daemon-reload failed (exit 1): Failed to connect to bus: No medium found, so the agent was not started",
    );
    expect(result.stdout).toContain("[Service]");
    expect(calls).not.toContain("systemctl --user enable --now private-connect-agent-laptop.service");
  });

  it("with --system refuses root as the service's user, by name or by uid 0", async () => {
    useHost({ "id -u root": { stdout: "0\n" }, "id -u toor": { stdout: "0\n" } }, { uid: 0, userName: "root" });
    const asRoot = await captureOutput(() => TestInstall.run(["--config", configDir, "--system"], ROOT));
    expect(asRoot.exitCode).toBe(1);
    expect(asRoot.stderr).toContain("Error: Refusing to run the agent as root: pass --user NAME");
    for (const name of ["root", "toor"]) {
      const named = await captureOutput(() => TestInstall.run(["--config", configDir, "--system", "--user", name], ROOT));
      expect(named.exitCode).toBe(1);
      expect(named.stderr).toContain(`Error: Refusing to run the agent as root (${name} has uid 0)`);
    }
    await expect(stat(join(host.systemUnitDir, "private-connect-agent-laptop.service"))).rejects.toThrow();
    expect(calls.some((call) => call.startsWith("systemctl"))).toBe(false);
  });

  it("with --system under sudo runs the agent as the user who ran sudo, if that user owns the config directory", async () => {
    // The config directory must belong to an unprivileged user; as root (CI containers), make it so.
    if ((await stat(configDir)).uid === 0) await chown(configDir, 4242, 4242);
    const uid = (await stat(configDir)).uid;
    useHost(
      {
        "id -u alice": { stdout: `${uid}\n` },
        "id -u bob": { stdout: `${uid + 1}\n` },
        "systemctl --version": { stdout: "systemd 255 (255.4)\n" },
        "systemctl is-active": { exitCode: 3, stdout: "inactive\n" },
        "systemctl is-enabled": { exitCode: 1, stdout: "disabled\n" },
      },
      { uid: 0, userName: "root", sudoUser: "alice" },
    );
    const result = await captureOutput(() => TestInstall.run(["--config", configDir, "--system"], ROOT));
    expect(result.stderr).toBe("");
    const path = join(host.systemUnitDir, "private-connect-agent-laptop.service");
    const unit = await readFile(path, "utf8");
    expect(unit).toContain("\nUser=alice\n");
    expect(unit).toContain(`\nReadWritePaths=${configDir}\n`);
    expect(unit).toContain("\nRestartSteps=5\n");
    // systemd opens agent.log as root: it exists beforehand, the agent's user's, private.
    const log = await stat(join(configDir, "agent.log"));
    expect({ uid: log.uid, mode: log.mode & 0o777 }).toEqual({ uid, mode: 0o600 });
    expect(calls.slice(-2)).toEqual(["systemctl daemon-reload", "systemctl enable --now private-connect-agent-laptop.service"]);
    expect(result.stdout).toContain(`at ${path} (runs as alice) and started it`);

    const other = await captureOutput(() => TestInstall.run(["--config", configDir, "--system", "--user", "bob"], ROOT));
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain(`Error: ${configDir} belongs to uid ${uid}, not to bob (uid ${uid + 1})`);
  });

  it("refuses before anything is registered, and beside an agent started by hand", async () => {
    useHost(SYSTEMD_252);
    const empty = join(dir, "empty");
    await mkdir(empty);
    const unregistered = await captureOutput(() => TestInstall.run(["--config", empty], ROOT));
    expect(unregistered.exitCode).toBe(1);
    expect(unregistered.stderr).toContain(`Error: No agent is registered in ${empty}: run connect up --hub URL --api-key KEY`);

    // Something answers on the agent's control socket, and the service is not what runs it.
    const server: Server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(join(configDir, "agent.sock"), resolve));
    try {
      const running = await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
      expect(running.exitCode).toBe(1);
      expect(running.stderr).toContain(`Error: An agent is already running for ${configDir} outside the service manager`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await expect(stat(unitPath())).rejects.toThrow();
  });

  it("refuses to overwrite the unit of another config directory with the same name", async () => {
    useHost(SYSTEMD_252);
    await mkdir(join(home, ".config", "systemd", "user"), { recursive: true });
    await writeFile(unitPath(), "[Unit]\nX-PrivateConnect-ConfigDir=/srv/laptop\n");
    const result = await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`Error: ${unitPath()} already runs the agent for /srv/laptop: pass --name NAME`);
    const named = await captureOutput(() => TestInstall.run(["--config", configDir, "--name", "second"], ROOT));
    expect(named.exitCode).toBe(0);
    expect(await readFile(join(home, ".config", "systemd", "user", "private-connect-agent-second.service"), "utf8")).toContain(
      `X-PrivateConnect-ConfigDir=${configDir}\n`,
    );
  });

  it("on macOS writes a LaunchAgent and loads it with launchctl load -w", async () => {
    useHost({ "launchctl list": { exitCode: 113, stderr: "Could not find service" } }, { platform: "darwin" });
    const result = await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
    expect(result.stderr).toBe("");
    const path = join(home, "Library", "LaunchAgents", "com.privateconnect.agent-laptop.plist");
    expect(await readFile(path, "utf8")).toContain("<string>com.privateconnect.agent-laptop</string>");
    expect(calls).toEqual(["launchctl list com.privateconnect.agent-laptop", `launchctl load -w ${path}`]);
  });
});

describe("connect daemon status", () => {
  it("says where the unit is, what systemd says and whether the agent answers", async () => {
    useHost({
      ...SYSTEMD_252,
      "systemctl --user is-active": { stdout: "active\n" },
      "systemctl --user is-enabled": { stdout: "enabled\n" },
    });
    const before = await captureOutput(() => TestStatus.run(["--config", configDir, "--json"], ROOT));
    expect(JSON.parse(before.stdout)).toMatchObject({ isInstalled: false, path: unitPath(), agent: { isAnswering: false } });
    const none = await captureOutput(() => TestStatus.run(["--config", configDir], ROOT));
    expect(none.stdout.split("\n")[0]).toBe(
      `Service:  not installed for ${configDir} (looked for ${unitPath()} and ${join(host.systemUnitDir, "private-connect-agent-laptop.service")})`,
    );

    await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
    const text = await captureOutput(() => TestStatus.run(["--config", configDir], ROOT));
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toBe(
      [
        `Service:  private-connect-agent-laptop.service, user unit at ${unitPath()}`,
        "Manager:  active, enabled",
        "Agent:    not answering on its control socket (not running)",
        "",
      ].join("\n"),
    );
  });

  it("says when the agent answers on its control socket", async () => {
    useHost(SYSTEMD_252);
    // A stand-in agent: answers the status request the way the control protocol does.
    const server: Server = createServer((socket) => {
      socket.setEncoding("utf8");
      socket.once("data", (line: string) => {
        const { id } = JSON.parse(line) as { id: string };
        socket.end(`${JSON.stringify({ id, result: { pid: 4242, hub: { url: "https://hub", state: "connected" } } })}\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(join(configDir, "agent.sock"), resolve));
    try {
      const result = await captureOutput(() => TestStatus.run(["--config", configDir], ROOT));
      expect(result.stdout).toContain("Agent:    answers on its control socket (pid 4242, hub connected)");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("finds a system unit too", async () => {
    useHost({ "systemctl is-active": { exitCode: 3, stdout: "failed\n" }, "systemctl is-enabled": { stdout: "enabled\n" } });
    await mkdir(host.systemUnitDir, { recursive: true });
    const path = join(host.systemUnitDir, "private-connect-agent-laptop.service");
    await writeFile(path, `[Unit]\nX-PrivateConnect-ConfigDir=${configDir}\n`);
    const result = await captureOutput(() => TestStatus.run(["--config", configDir, "--json"], ROOT));
    expect(JSON.parse(result.stdout)).toMatchObject({
      isInstalled: true,
      scope: "system",
      path,
      active: "failed",
      enabled: "enabled",
    });
  });
});

describe("connect daemon uninstall", () => {
  it("disables and stops the service, removes the unit and says what it removed", async () => {
    useHost(SYSTEMD_252);
    await captureOutput(() => TestInstall.run(["--config", configDir], ROOT));
    calls.length = 0;
    const result = await captureOutput(() => TestUninstall.run(["--config", configDir], ROOT));
    expect(result.exitCode).toBe(0);
    await expect(stat(unitPath())).rejects.toThrow(/ENOENT/);
    expect(calls).toEqual([
      "systemctl --user disable --now private-connect-agent-laptop.service",
      "systemctl --user daemon-reload",
    ]);
    expect(result.stdout).toBe(`Stopped and disabled private-connect-agent-laptop.service\nRemoved ${unitPath()}\n`);
    const again = await captureOutput(() => TestUninstall.run(["--config", configDir], ROOT));
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`Nothing to remove: no service for ${configDir} at ${unitPath()}`);
  });

  it("keeps the unit when systemd cannot stop a service that still runs", async () => {
    useHost({
      "systemctl --user disable": { exitCode: 1, stderr: "Failed to disable unit: Access denied\n" },
      "systemctl --user is-active": { stdout: "active\n" },
    });
    await mkdir(join(home, ".config", "systemd", "user"), { recursive: true });
    await writeFile(unitPath(), `[Unit]\nX-PrivateConnect-ConfigDir=${configDir}\n`);
    const result = await captureOutput(() => TestUninstall.run(["--config", configDir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("Access denied; private-connect-agent-laptop.service still runs, so");
    expect(await readFile(unitPath(), "utf8")).toContain("X-PrivateConnect");
  });
});
