import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentService } from "./agent-service.js";
import { quoteExecArgument, quoteListPath } from "./systemd-syntax.js";
import { readUnitConfigDir, renderSystemdUnit } from "./systemd-unit.js";

const SERVICE: AgentService = {
  name: "private-connect-agent",
  nodePath: "/usr/bin/node",
  scriptPath: "/opt/private-connect/apps/agent/bin/run.js",
  configDir: "/home/alice/.private-connect",
  logPath: "/home/alice/.private-connect/agent.log",
  environment: {},
};

const USER_UNIT = `# Written by connect daemon install: it runs the Private Connect agent (connect up) for the
# config directory below. Remove it with connect daemon uninstall.
[Unit]
Description=Private Connect agent (/home/alice/.private-connect)
X-PrivateConnect-ConfigDir=/home/alice/.private-connect
StartLimitIntervalSec=0

[Service]
Type=exec
ExecStart=/usr/bin/node /opt/private-connect/apps/agent/bin/run.js up --config /home/alice/.private-connect
StandardOutput=append:/home/alice/.private-connect/agent.log
StandardError=append:/home/alice/.private-connect/agent.log
Restart=on-failure
RestartSec=10s
TimeoutStopSec=20s
UMask=0077
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native

[Install]
WantedBy=default.target
`;

const SYSTEM_UNIT = `# Written by connect daemon install: it runs the Private Connect agent (connect up) for the
# config directory below. Remove it with connect daemon uninstall.
[Unit]
Description=Private Connect agent (/home/alice/.private-connect)
X-PrivateConnect-ConfigDir=/home/alice/.private-connect
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=exec
User=alice
ExecStart=/usr/bin/node /opt/private-connect/apps/agent/bin/run.js up --config /home/alice/.private-connect
Environment=CONNECT_ALLOW_INSECURE=true
StandardOutput=append:/home/alice/.private-connect/agent.log
StandardError=append:/home/alice/.private-connect/agent.log
Restart=on-failure
RestartSec=10s
RestartSteps=5
RestartMaxDelaySec=5min
TimeoutStopSec=20s
UMask=0077
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=/home/alice/.private-connect
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
CapabilityBoundingSet=

[Install]
WantedBy=multi-user.target
`;

describe("renderSystemdUnit", () => {
  it("writes a user unit that runs connect up for the config directory, with the hardening a user manager allows", () => {
    expect(renderSystemdUnit(SERVICE, { scope: "user", systemdVersion: 252 })).toBe(USER_UNIT);
    expect(readUnitConfigDir(USER_UNIT)).toBe("/home/alice/.private-connect");
  });

  it("writes a system unit for an unprivileged user, sandboxed, with a growing restart delay from systemd 254", () => {
    const unit = renderSystemdUnit(
      { ...SERVICE, user: "alice", environment: { CONNECT_ALLOW_INSECURE: "true" } },
      { scope: "system", systemdVersion: 254 },
    );
    expect(unit).toBe(SYSTEM_UNIT);
    // Before 254 systemd would warn about the unknown keys: a fixed delay instead.
    const older = renderSystemdUnit({ ...SERVICE, user: "alice" }, { scope: "system", systemdVersion: 253 });
    expect(older).not.toContain("RestartSteps");
    expect(older).toContain("RestartSec=10s\nTimeoutStopSec=20s\n");
  });

  it("quotes paths with spaces, specifiers and variables, and refuses line breaks", () => {
    expect(quoteExecArgument('/home/a b/100%$HOME\\x"y')).toBe('"/home/a b/100%%$$HOME\\\\x\\"y"');
    expect(quoteListPath("/home/a b/100%")).toBe('"/home/a b/100%%"');
    expect(quoteExecArgument("/plain/path-1.2_x")).toBe("/plain/path-1.2_x");
    const odd = { ...SERVICE, configDir: "/tmp/a b %n", logPath: "/tmp/a b %n/agent.log" };
    const unit = renderSystemdUnit(odd, { scope: "user" });
    expect(unit).toContain('ExecStart=/usr/bin/node /opt/private-connect/apps/agent/bin/run.js up --config "/tmp/a b %%n"\n');
    expect(unit).toContain("StandardOutput=append:/tmp/a b %%n/agent.log\n");
    expect(() => renderSystemdUnit({ ...SERVICE, configDir: "/tmp/x\nExecStartPre=/bin/evil" }, { scope: "user" })).toThrow(
      /control character/,
    );
  });
});

const ANALYZE = "/usr/bin/systemd-analyze";
const hasAnalyze = existsSync(ANALYZE);
if (!hasAnalyze) console.warn(`Skipping systemd-analyze verify of the agent's units: ${ANALYZE} is not installed`);

describe.skipIf(!hasAnalyze)("systemd-analyze verify", () => {
  let dir: string;
  let service: AgentService;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pc unit "));
    const configDir = join(dir, "config 100%");
    await mkdir(configDir);
    // Real paths: verify checks that ExecStart's program exists and is executable.
    service = {
      name: "private-connect-agent-test",
      nodePath: await realpath(process.execPath),
      scriptPath: await realpath(fileURLToPath(new URL("../../bin/run.js", import.meta.url))),
      configDir,
      logPath: join(configDir, "agent.log"),
      environment: { CONNECT_HEARTBEAT_SECONDS: "20" },
    };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function verify(scope: "user" | "system"): Promise<{ stderr: string }> {
    const path = join(dir, `${scope}`, `${service.name}.service`);
    await mkdir(join(dir, scope), { recursive: true });
    const user = userInfo().username;
    await writeFile(path, renderSystemdUnit(scope === "system" ? { ...service, user } : service, { scope }));
    const runtimeDir = join(dir, "runtime");
    await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
    // A user manager needs a runtime directory even to verify; a system one does not.
    const args = scope === "user" ? ["--user", "verify", path] : ["verify", path];
    const { stderr } = await promisify(execFile)(ANALYZE, args, { env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir } });
    return { stderr };
  }

  it("finds nothing to say about the user unit", async () => {
    expect((await verify("user")).stderr).toBe("");
  });

  it("finds nothing to say about the system unit", async () => {
    expect((await verify("system")).stderr).toBe("");
  });
});
