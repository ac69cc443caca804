import { BaseCommand } from "../cli/base-command.js";
import { formatStatus } from "../cli/format.js";
import type { AgentProcessStatus } from "../daemon/control-protocol.js";

export default class Status extends BaseCommand<typeof Status> {
  static override summary = "show the running agent, its hub connection, exposures and reaches";
  static override description = "Asks the agent that connect up started for this config directory what it is doing.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> status",
    "<%= config.bin %> status --json",
    "<%= config.bin %> status --config ~/.private-connect-laptop",
  ];

  async run(): Promise<AgentProcessStatus> {
    const status = await this.control.request("status", {});
    if (!this.jsonEnabled()) this.log(formatStatus(status));
    return status;
  }
}
