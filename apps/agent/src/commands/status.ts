import { BaseCommand } from "../cli/base-command.js";
import { formatStatus } from "../cli/format.js";
import { describeTokenExpiry } from "../cli/token-expiry.js";
import type { AgentProcessStatus } from "../daemon/control-protocol.js";
import { readLastStop } from "../daemon/last-stop.js";
import { ConnectError, isConnectError } from "../errors.js";

export default class Status extends BaseCommand<typeof Status> {
  static override summary = "show the running agent, its hub connection, token, exposures and reaches";
  static override description =
    "Asks the agent that connect up started for this config directory what it is doing: its hub connection, when its token expires (with a warning from seven days before), recent IP changes and notices from the hub. When no agent runs, says why the last one stopped if the hub stopped it.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> status",
    "<%= config.bin %> status --json",
    "<%= config.bin %> status --config ~/.private-connect-laptop",
  ];

  async run(): Promise<AgentProcessStatus> {
    let status: AgentProcessStatus;
    try {
      status = await this.control.request("status", {});
    } catch (error) {
      if (isConnectError(error, "AGENT_NOT_RUNNING")) throw await this.explainNotRunning(error);
      throw error;
    }
    if (!this.jsonEnabled()) this.log(formatStatus(status));
    return status;
  }

  /** "Not running" plus what the user most needs next: why it stopped, or that its token is running out. */
  private async explainNotRunning(error: ConnectError): Promise<ConnectError> {
    const lastStop = await readLastStop(this.paths.lastStop);
    if (lastStop !== undefined) {
      return new ConnectError(
        "AGENT_NOT_RUNNING",
        `No agent is running for ${this.paths.dir}: the hub stopped it at ${lastStop.at}: ${lastStop.reason}`,
        { cause: error },
      );
    }
    const identity = await this.readIdentity().catch(() => undefined);
    const warning = identity === undefined ? undefined : describeTokenExpiry(identity, new Date());
    if (warning === undefined) return error;
    return new ConnectError("AGENT_NOT_RUNNING", `${error.message} (${warning})`, { cause: error });
  }
}
