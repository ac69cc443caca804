import { DaemonCommand, serviceFlags } from "../../daemon-install/daemon-command.js";
import { readServiceStatus, type ServiceStatus } from "../../daemon-install/read-service-status.js";

export default class DaemonStatus extends DaemonCommand<typeof DaemonStatus> {
  static override summary = "show whether the agent's service is installed, where, and whether it runs";
  static override description =
    "Looks for the service connect daemon install writes for this config directory (a user unit first, then a system one), asks systemd or launchd whether it is active and enabled, and whether the agent answers on its control socket.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> daemon status",
    "<%= config.bin %> daemon status --json",
    "<%= config.bin %> daemon status --config ~/.private-connect-laptop",
  ];
  static override flags = { system: serviceFlags.system, name: serviceFlags.name };

  async run(): Promise<ServiceStatus> {
    const host = this.createHost();
    const status = await readServiceStatus(host, {
      name: this.resolveServiceName(host, this.flags.name),
      socketPath: this.paths.socket,
      scope: this.flags.system ? "system" : undefined,
    });
    this.report(formatServiceStatus(status, this.paths.dir));
    return status;
  }
}

/** The lines of `connect daemon status`. */
export function formatServiceStatus(status: ServiceStatus, configDir: string): string[] {
  const agent = status.agent.isAnswering
    ? `Agent:    answers on its control socket (pid ${status.agent.pid ?? "?"}, hub ${status.agent.hubState ?? "?"})`
    : "Agent:    not answering on its control socket (not running)";
  if (!status.isInstalled) {
    return [
      `Service:  not installed for ${configDir} (looked for ${status.searched.join(" and ")})`,
      agent,
      "Install it with connect daemon install",
    ];
  }
  const lines = [
    `Service:  ${status.unitName}, ${status.scope === "system" ? "system" : "user"} ${status.manager === "systemd" ? "unit" : "LaunchAgent"} at ${status.path}`,
  ];
  if (status.configDir !== configDir) {
    lines.push(`Warning:  it runs the agent for ${status.configDir ?? "another program"}, not ${configDir}: pass --name`);
  }
  lines.push(
    `Manager:  ${status.active ?? "unknown"}, ${status.enabled ?? "unknown"}${status.problem === undefined ? "" : ` (${status.problem})`}`,
    agent,
  );
  return lines;
}
