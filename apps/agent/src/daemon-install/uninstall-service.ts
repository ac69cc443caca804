import { rm } from "node:fs/promises";
import { ConnectError } from "../errors.js";
import { COMMAND_NOT_FOUND, describeFailure } from "./command-runner.js";
import { type DaemonHost, locateService, type ServiceLocation, systemctlArgs } from "./daemon-host.js";
import { readInstalledService } from "./installed-service.js";
import { toLaunchdLabel } from "./launchd-plist.js";
import { readServiceActivity } from "./service-activity.js";
import type { ServiceScope } from "./systemd-unit.js";

export type UninstallOutcome =
  | { kind: "removed"; location: ServiceLocation; notes: string[] }
  /** Nothing at the location; `elsewhere` is the other scope's unit of that name, when there is one. */
  | { kind: "absent"; location: ServiceLocation; elsewhere: ServiceLocation | undefined };

/** Stops and disables the service, then removes its file; says what it did in `notes`. */
export async function uninstallAgentService(host: DaemonHost, scope: ServiceScope, name: string): Promise<UninstallOutcome> {
  const label = toLaunchdLabel(name);
  const location = locateService(host, scope, name, label);
  if ((await readInstalledService(location)) === undefined) {
    const otherScope: ServiceScope = scope === "user" ? "system" : "user";
    const other = host.platform === "linux" ? locateService(host, otherScope, name, label) : undefined;
    const elsewhere = other !== undefined && (await readInstalledService(other)) !== undefined ? other : undefined;
    return { kind: "absent", location, elsewhere };
  }

  const notes: string[] = [];
  if (location.manager === "systemd") {
    const args = systemctlArgs(location.scope, "disable", "--now", location.unitName);
    const disabled = await host.runner("systemctl", args);
    if (disabled.exitCode === 0) notes.push(`Stopped and disabled ${location.unitName}`);
    else if (disabled.exitCode === COMMAND_NOT_FOUND) notes.push("systemctl is not available here: nothing to stop");
    else {
      // A manager that cannot be reached (no systemd in a container) runs nothing: removing is safe.
      // One that still runs the service must stop it first, or it would run on without its file.
      const activity = await readServiceActivity(host, location);
      if (activity.active === "active" || activity.active === "activating" || activity.active === "reloading") {
        throw new ConnectError(
          "CONTROL_FAILED",
          `${describeFailure("systemctl", args, disabled)}; ${location.unitName} still runs, so ${location.path} stays: stop it and run connect daemon uninstall again`,
        );
      }
      notes.push(`${describeFailure("systemctl", args, disabled)}; systemd does not run it here`);
    }
  } else {
    const unloaded = await host.runner("launchctl", ["unload", "-w", location.path]);
    notes.push(unloaded.exitCode === 0 ? `Stopped and unloaded ${location.unitName}` : `${location.unitName} was not loaded`);
  }

  try {
    await rm(location.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConnectError(
      "CONTROL_FAILED",
      `Cannot remove ${location.path} (${code ?? String(error)})${scope === "system" ? ": run connect daemon uninstall --system with sudo" : ""}`,
    );
  }
  notes.push(`Removed ${location.path}`);
  if (location.manager === "systemd") {
    const args = systemctlArgs(location.scope, "daemon-reload");
    const reloaded = await host.runner("systemctl", args);
    if (reloaded.exitCode !== 0 && reloaded.exitCode !== COMMAND_NOT_FOUND)
      notes.push(describeFailure("systemctl", args, reloaded));
  }
  return { kind: "removed", location, notes };
}
