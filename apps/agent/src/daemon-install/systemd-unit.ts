import { type AgentService, buildAgentArguments } from "./agent-service.js";
import { assertWritableInServiceFile, escapeSpecifiers, quoteExecArgument, quoteListPath } from "./systemd-syntax.js";

export type ServiceScope = "user" | "system";

export interface SystemdUnitOptions {
  scope: ServiceScope;
  /** `systemctl --version`'s number; RestartSteps= (a growing delay) exists from 254 on. */
  systemdVersion?: number | undefined;
}

const CONFIG_DIR_KEY = "X-PrivateConnect-ConfigDir";
const RESTART_STEPS_SINCE = 254;

/**
 * The unit that keeps `connect up` running for one config directory. Pure, so tests pin it.
 *
 * A user unit gets only the hardening that works in a per-user manager everywhere: file system
 * sandboxing there needs PrivateUsers= (unprivileged user namespaces), which several
 * distributions refuse, and the unit would then fail to start at all. A system unit gets the
 * full set: the agent needs only its config directory writable and outbound TCP.
 */
export function renderSystemdUnit(service: AgentService, options: SystemdUnitOptions): string {
  for (const path of [service.nodePath, service.scriptPath, service.configDir, service.logPath]) {
    assertWritableInServiceFile(path, "path");
  }
  const isSystem = options.scope === "system";
  const lines = [
    "# Written by connect daemon install: it runs the Private Connect agent (connect up) for the",
    "# config directory below. Remove it with connect daemon uninstall.",
    "[Unit]",
    `Description=${escapeSpecifiers(`Private Connect agent (${service.configDir})`)}`,
    `${CONFIG_DIR_KEY}=${service.configDir}`,
  ];
  if (isSystem) lines.push("After=network-online.target", "Wants=network-online.target");
  // The agent reconnects to the hub by itself; it exits only on a fatal error or when the hub is
  // unreachable at start (at boot, say). Never give up restarting: the backoff paces it.
  lines.push("StartLimitIntervalSec=0", "", "[Service]", "Type=exec");
  if (isSystem && service.user !== undefined) lines.push(`User=${service.user}`);
  lines.push(`ExecStart=${buildAgentArguments(service).map(quoteExecArgument).join(" ")}`);
  for (const [key, value] of Object.entries(service.environment)) {
    lines.push(`Environment=${quoteExecArgument(`${key}=${value}`)}`);
  }
  // The same agent.log as connect up --detach, so connect logs reads it whichever way it runs.
  lines.push(
    `StandardOutput=${escapeSpecifiers(`append:${service.logPath}`)}`,
    `StandardError=${escapeSpecifiers(`append:${service.logPath}`)}`,
    "Restart=on-failure",
    "RestartSec=10s",
  );
  if ((options.systemdVersion ?? 0) >= RESTART_STEPS_SINCE) lines.push("RestartSteps=5", "RestartMaxDelaySec=5min");
  lines.push(
    // connect up closes its ports and hub connection on SIGTERM in well under this.
    "TimeoutStopSec=20s",
    "UMask=0077",
    "NoNewPrivileges=yes",
    "LockPersonality=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "SystemCallArchitectures=native",
  );
  if (isSystem) {
    lines.push(
      "ProtectSystem=strict",
      "ProtectHome=read-only",
      `ReadWritePaths=${quoteListPath(service.configDir)}`,
      "PrivateTmp=yes",
      "PrivateDevices=yes",
      "ProtectKernelTunables=yes",
      "ProtectKernelModules=yes",
      "ProtectKernelLogs=yes",
      "ProtectControlGroups=yes",
      "ProtectClock=yes",
      "ProtectHostname=yes",
      "RestrictNamespaces=yes",
      // AF_NETLINK: name resolution asks the kernel which address families are configured.
      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
      "CapabilityBoundingSet=",
    );
  }
  lines.push("", "[Install]", `WantedBy=${isSystem ? "multi-user.target" : "default.target"}`, "");
  return lines.join("\n");
}

/** The config directory an installed unit runs for (undefined if it is not one of ours). */
export function readUnitConfigDir(text: string): string | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${CONFIG_DIR_KEY}=`));
  return line?.slice(CONFIG_DIR_KEY.length + 1);
}
