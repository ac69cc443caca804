import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { ConnectError } from "../errors.js";
import { type CommandRunner, runCommand } from "./command-runner.js";
import type { ServiceScope } from "./systemd-unit.js";

/** The machine facts install, status and uninstall depend on; tests pass their own. */
export interface DaemonHost {
  platform: NodeJS.Platform;
  homeDir: string;
  /** This process's uid (0: root); -1 where there are none. */
  uid: number;
  userName: string;
  /** Who ran this process through sudo, when it did. */
  sudoUser: string | undefined;
  /** Where system units go: /etc/systemd/system. */
  systemUnitDir: string;
  runner: CommandRunner;
}

export function detectDaemonHost(options: { sudoUser: string | undefined }): DaemonHost {
  const user = userInfo();
  return {
    platform: process.platform,
    homeDir: homedir(),
    uid: user.uid,
    userName: user.username,
    sudoUser: options.sudoUser,
    systemUnitDir: "/etc/systemd/system",
    runner: runCommand,
  };
}

export type ServiceManager = "systemd" | "launchd";

export interface ServiceLocation {
  manager: ServiceManager;
  scope: ServiceScope;
  /** What the service manager calls it: NAME.service, or the launchd label. */
  unitName: string;
  path: string;
}

/** Where the service of this name lives for this platform and scope. */
export function locateService(host: DaemonHost, scope: ServiceScope, name: string, launchdLabel: string): ServiceLocation {
  if (host.platform === "linux") {
    const dir = scope === "system" ? host.systemUnitDir : join(host.homeDir, ".config", "systemd", "user");
    return { manager: "systemd", scope, unitName: `${name}.service`, path: join(dir, `${name}.service`) };
  }
  if (host.platform === "darwin") {
    if (scope === "system") {
      throw new ConnectError(
        "INVALID_INPUT",
        "--system is for Linux (systemd): on macOS the agent runs as a LaunchAgent of your user, run connect daemon install without it",
      );
    }
    return {
      manager: "launchd",
      scope,
      unitName: launchdLabel,
      path: join(host.homeDir, "Library", "LaunchAgents", `${launchdLabel}.plist`),
    };
  }
  throw new ConnectError(
    "INVALID_INPUT",
    `connect daemon knows systemd (Linux) and launchd (macOS), not ${host.platform}: run connect up --detach from your system's service manager instead`,
  );
}

/** systemctl's arguments for this scope: `--user` talks to the user's own manager. */
export function systemctlArgs(scope: ServiceScope, ...args: string[]): string[] {
  return scope === "user" ? ["--user", ...args] : args;
}
