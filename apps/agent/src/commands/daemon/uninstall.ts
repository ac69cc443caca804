import { DaemonCommand, serviceFlags } from "../../daemon-install/daemon-command.js";
import { uninstallAgentService } from "../../daemon-install/uninstall-service.js";

export default class DaemonUninstall extends DaemonCommand<typeof DaemonUninstall> {
  static override summary = "stop the agent's service, disable it and remove its unit";
  static override description =
    "Undoes connect daemon install for this config directory: stops and disables the service, removes its unit or plist and says what it removed. The agent's identity and saved exposures stay; connect up runs it again by hand.";
  static override examples = [
    "<%= config.bin %> daemon uninstall",
    "sudo <%= config.bin %> daemon uninstall --system --config /home/deploy/.private-connect",
  ];
  static override flags = serviceFlags;

  async run(): Promise<void> {
    const host = this.createHost();
    const outcome = await uninstallAgentService(
      host,
      this.flags.system ? "system" : "user",
      this.resolveServiceName(host, this.flags.name),
    );
    if (outcome.kind === "absent") {
      const hint =
        outcome.elsewhere === undefined
          ? ""
          : `; there is a ${outcome.elsewhere.scope} unit at ${outcome.elsewhere.path}: run connect daemon uninstall${outcome.elsewhere.scope === "system" ? " --system (with sudo)" : ""}`;
      this.log(`Nothing to remove: no service for ${this.paths.dir} at ${outcome.location.path}${hint}`);
      return;
    }
    for (const note of outcome.notes) this.log(note);
  }
}
