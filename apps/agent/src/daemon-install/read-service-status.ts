import { createControlClient } from "../daemon/control-client.js";
import type { TunnelState } from "../tunnel/index.js";
import { type DaemonHost, locateService, type ServiceManager } from "./daemon-host.js";
import { readInstalledService } from "./installed-service.js";
import { toLaunchdLabel } from "./launchd-plist.js";
import { readServiceActivity } from "./service-activity.js";
import type { ServiceScope } from "./systemd-unit.js";

export interface ServiceStatus {
  isInstalled: boolean;
  manager: ServiceManager;
  scope: ServiceScope;
  unitName: string;
  /** Where the unit or plist is (or would be, when not installed). */
  path: string;
  /** Every place looked at, in order. */
  searched: string[];
  /** The config directory the installed service runs for; another than ours means a name clash. */
  configDir?: string | undefined;
  active?: string;
  enabled?: string;
  problem?: string;
  /** Whether the agent's control socket answered, and what the agent said. */
  agent: { isAnswering: boolean; pid?: number; hubState?: TunnelState };
}

/**
 * Where the service for this name is installed (a user one first, unless --system), what the
 * service manager says about it, and whether the agent itself answers on its control socket.
 */
export async function readServiceStatus(
  host: DaemonHost,
  options: { name: string; socketPath: string; scope?: ServiceScope | undefined },
): Promise<ServiceStatus> {
  const label = toLaunchdLabel(options.name);
  const scopes: ServiceScope[] =
    options.scope !== undefined ? [options.scope] : host.platform === "linux" ? ["user", "system"] : ["user"];
  const candidates = scopes.map((scope) => locateService(host, scope, options.name, label));
  let found: { location: (typeof candidates)[number]; configDir: string | undefined } | undefined;
  for (const location of candidates) {
    const installed = await readInstalledService(location);
    if (installed !== undefined) {
      found = { location, configDir: installed.configDir };
      break;
    }
  }
  const agent = await askAgent(options.socketPath);
  const searched = candidates.map((location) => location.path);
  const first = candidates[0];
  if (found === undefined) {
    if (first === undefined) throw new Error("no service location to look at");
    return {
      isInstalled: false,
      manager: first.manager,
      scope: first.scope,
      unitName: first.unitName,
      path: first.path,
      searched,
      agent,
    };
  }
  const activity = await readServiceActivity(host, found.location);
  return {
    isInstalled: true,
    manager: found.location.manager,
    scope: found.location.scope,
    unitName: found.location.unitName,
    path: found.location.path,
    searched,
    configDir: found.configDir,
    active: activity.active,
    enabled: activity.enabled,
    ...(activity.problem === undefined ? {} : { problem: activity.problem }),
    agent,
  };
}

async function askAgent(socketPath: string): Promise<ServiceStatus["agent"]> {
  try {
    const status = await createControlClient(socketPath).request("status", {}, { timeoutMs: 3000 });
    return { isAnswering: true, pid: status.pid, hubState: status.hub.state };
  } catch {
    return { isAnswering: false };
  }
}
