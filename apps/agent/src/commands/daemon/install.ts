import { realpath } from "node:fs/promises";
import { join } from "node:path";
import { Flags } from "@oclif/core";
import { DaemonCommand, serviceFlags } from "../../daemon-install/daemon-command.js";
import { installAgentService } from "../../daemon-install/install-service.js";

export default class DaemonInstall extends DaemonCommand<typeof DaemonInstall> {
  static override summary = "run the agent as a service that starts at login or boot and restarts after a failure";
  static override description = [
    "Writes a service that runs connect up for this config directory and starts it now: a systemd user unit on Linux (~/.config/systemd/user), with --system a system unit (/etc/systemd/system, run with sudo) that runs the agent as an unprivileged user, and a LaunchAgent on macOS (~/Library/LaunchAgents).",
    "Register the agent first (connect up --hub URL --api-key KEY). The service writes to agent.log in the config directory: connect logs shows it. Without a working systemctl or launchctl it prints the unit and where to put it, and exits non-zero.",
  ].join("\n\n");
  static override examples = [
    "<%= config.bin %> daemon install",
    "<%= config.bin %> daemon install --config ~/.private-connect-laptop",
    "sudo <%= config.bin %> daemon install --system --user deploy --config /home/deploy/.private-connect",
  ];
  static override flags = {
    ...serviceFlags,
    user: Flags.string({
      description: "with --system, the user the agent runs as (default: who ran sudo); never root",
      helpValue: "NAME",
      dependsOn: ["system"],
    }),
  };

  async run(): Promise<void> {
    const host = this.createHost();
    const environment: Record<string, string> = {};
    // What this shell runs the agent with must hold for the service too (it has no shell).
    if (this.env.isInsecureAllowed) environment.CONNECT_ALLOW_INSECURE = "true";
    if (this.env.heartbeatMs !== undefined) environment.CONNECT_HEARTBEAT_SECONDS = String(this.env.heartbeatMs / 1000);
    const outcome = await installAgentService({
      host,
      scope: this.flags.system ? "system" : "user",
      requestedUser: this.flags.user,
      identityPath: this.paths.identity,
      socketPath: this.paths.socket,
      service: {
        name: this.resolveServiceName(host, this.flags.name),
        // Resolved now, so the service runs this very node and CLI whatever its PATH holds.
        nodePath: await realpath(process.execPath),
        scriptPath: await realpath(join(this.config.root, "bin", "run.js")),
        configDir: this.paths.dir,
        logPath: this.paths.log,
        environment,
      },
    });
    const { location } = outcome;
    if (outcome.kind === "manual") {
      this.log(outcome.text);
      this.log(
        `${outcome.isWritten ? "Written to" : "Place the text above in"} ${location.path}; where ${location.manager} runs, start it with:`,
      );
      for (const step of outcome.steps) this.log(`  ${step}`);
      this.error(outcome.reason, { exit: 1 });
    }
    this.log(
      `Installed ${location.unitName} at ${location.path}${outcome.user === undefined ? "" : ` (runs as ${outcome.user})`} and started it: the agent for ${this.paths.dir} now starts ${location.scope === "system" ? "at boot" : "at login"} and restarts after a failure`,
    );
    this.log(`Check it with connect daemon status${this.configHint()}; its log: connect logs --follow${this.configHint()}`);
    for (const note of outcome.notes) this.log(note);
  }

  private configHint(): string {
    return this.flags.config === undefined ? "" : ` --config ${this.paths.dir}`;
  }
}
