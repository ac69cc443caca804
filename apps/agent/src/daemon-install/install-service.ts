import { access, chown, mkdir, open, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { canConnectToSocket } from "../daemon/agent-process.js";
import { ConnectError } from "../errors.js";
import type { AgentService } from "./agent-service.js";
import { COMMAND_NOT_FOUND, describeFailure } from "./command-runner.js";
import { type DaemonHost, locateService, type ServiceLocation, systemctlArgs } from "./daemon-host.js";
import { readInstalledService } from "./installed-service.js";
import { renderLaunchdPlist, toLaunchdLabel } from "./launchd-plist.js";
import { readServiceActivity } from "./service-activity.js";
import { resolveServiceUser } from "./service-user.js";
import { renderSystemdUnit, type ServiceScope } from "./systemd-unit.js";

export interface InstallRequest {
  host: DaemonHost;
  scope: ServiceScope;
  service: Omit<AgentService, "user">;
  /** --user: who a system service runs as. */
  requestedUser: string | undefined;
  identityPath: string;
  socketPath: string;
}

export type InstallOutcome =
  | { kind: "installed"; location: ServiceLocation; user: string | undefined; notes: string[] }
  /** The service manager could not take it: the text and the commands for the user to finish by hand. */
  | { kind: "manual"; location: ServiceLocation; reason: string; isWritten: boolean; text: string; steps: string[] };

function parseSystemdVersion(output: string): number | undefined {
  const match = /^systemd (\d+)/m.exec(output);
  return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 10);
}

/** The commands that load and start the service, in order. */
function describeStartCommands(location: ServiceLocation, isRestart: boolean): Array<[string, string[]]> {
  if (location.manager === "launchd") return [["launchctl", ["load", "-w", location.path]]];
  const commands: Array<[string, string[]]> = [
    ["systemctl", systemctlArgs(location.scope, "daemon-reload")],
    ["systemctl", systemctlArgs(location.scope, "enable", "--now", location.unitName)],
  ];
  // enable --now leaves a running service alone; a rewritten unit takes effect on a restart.
  if (isRestart) commands.push(["systemctl", systemctlArgs(location.scope, "restart", location.unitName)]);
  return commands;
}

/**
 * Writes the service for this config directory and has the service manager start it now and at
 * every boot or login. Refuses what would not work: no registered agent yet, root as the
 * service's user, another agent already running for the directory.
 */
export async function installAgentService(request: InstallRequest): Promise<InstallOutcome> {
  const { host, scope, service } = request;
  const location = locateService(host, scope, service.name, toLaunchdLabel(service.name));
  const user =
    scope === "system"
      ? await resolveServiceUser({
          requested: request.requestedUser,
          currentUid: host.uid,
          currentUser: host.userName,
          sudoUser: host.sudoUser,
          configDir: service.configDir,
          runner: host.runner,
        })
      : undefined;
  const isRegistered = await access(request.identityPath).then(
    () => true,
    () => false,
  );
  if (!isRegistered) {
    throw new ConnectError(
      "NOT_REGISTERED",
      `No agent is registered in ${service.configDir}: run connect up --hub URL --api-key KEY --config ${service.configDir} once, then connect daemon install`,
    );
  }
  const installed = await readInstalledService(location);
  if (installed !== undefined && installed.configDir !== service.configDir) {
    throw new ConnectError(
      "INVALID_INPUT",
      `${location.path} already runs ${installed.configDir === undefined ? "something else" : `the agent for ${installed.configDir}`}: pass --name NAME to install this one beside it`,
    );
  }

  const activity = await readServiceActivity(host, location);
  if (activity.active !== "active" && (await canConnectToSocket(request.socketPath, 1000))) {
    throw new ConnectError(
      "AGENT_ALREADY_RUNNING",
      `An agent is already running for ${service.configDir} outside the service manager: stop it with connect down --config ${service.configDir}, then run connect daemon install again`,
    );
  }

  const systemdVersion =
    location.manager === "systemd" ? parseSystemdVersion((await host.runner("systemctl", ["--version"])).stdout) : undefined;
  const full: AgentService = user === undefined ? service : { ...service, user };
  const text = location.manager === "systemd" ? renderSystemdUnit(full, { scope, systemdVersion }) : renderLaunchdPlist(full);
  const commands = describeStartCommands(location, activity.active === "active");
  const steps = commands.filter(([, args]) => !args.includes("restart")).map(([command, args]) => [command, ...args].join(" "));

  try {
    await mkdir(dirname(location.path), { recursive: true });
    await writeFile(location.path, text, { mode: 0o644 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const isDenied = code === "EACCES" || code === "EPERM";
    return {
      kind: "manual",
      location,
      isWritten: false,
      text,
      steps,
      reason: `Cannot write ${location.path} (${code ?? String(error)})${isDenied && scope === "system" ? ": run connect daemon install --system with sudo" : ""}`,
    };
  }

  await prepareLogFile(service.logPath, scope === "system" && host.uid === 0 ? service.configDir : undefined);
  if (location.manager === "launchd" && installed !== undefined) {
    // A loaded job keeps its old definition until it is unloaded; failing here only means it was not loaded.
    await host.runner("launchctl", ["unload", location.path]);
  }
  for (const [command, args] of commands) {
    const result = await host.runner(command, args);
    if (result.exitCode === 0) continue;
    const reason =
      result.exitCode === COMMAND_NOT_FOUND
        ? `${command} is not available on this machine (no ${location.manager}?), so nothing was started`
        : `${describeFailure(command, args, result)}, so the agent was not started`;
    return { kind: "manual", location, isWritten: true, text, steps, reason };
  }

  const notes: string[] = [];
  if (location.manager === "systemd" && scope === "user") {
    const linger = await host.runner("loginctl", ["show-user", host.userName, "--property=Linger", "--value"]);
    if (linger.stdout.trim() !== "yes") {
      notes.push(
        `It runs while ${host.userName} is logged in. To keep it running after logout and start it at boot: loginctl enable-linger ${host.userName}`,
      );
    }
  }
  return { kind: "installed", location, user, notes };
}

/**
 * The service manager opens agent.log for the agent, as root for a system unit: created first
 * (0600, like connect up --detach makes it), and given to the config directory's owner, so the
 * agent's user can still read it with connect logs and run connect up --detach beside it later.
 */
async function prepareLogFile(path: string, ownerOf: string | undefined): Promise<void> {
  const handle = await open(path, "a", 0o600);
  await handle.close();
  if (ownerOf === undefined) return;
  const owner = await stat(ownerOf);
  await chown(path, owner.uid, owner.gid);
}
