import { setTimeout as delay } from "node:timers/promises";
import { BaseCommand } from "../cli/base-command.js";
import { canConnectToSocket, findRunningAgent, isProcessAlive } from "../daemon/agent-process.js";
import { createNotRunningError } from "../daemon/control-client.js";
import { ConnectError, isConnectError } from "../errors.js";

const STOP_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 50;

export default class Down extends BaseCommand<typeof Down> {
  static override summary = "stop the agent that connect up started";
  static override description =
    "Closes the agent's local ports and its hub connection. Its exposures and reaches stay saved and come back with the next connect up.";
  static override examples = ["<%= config.bin %> down", "<%= config.bin %> down --config ~/.private-connect-laptop"];

  async run(): Promise<void> {
    const running = await findRunningAgent(this.paths);
    if (running === undefined) throw createNotRunningError(this.paths.dir);
    try {
      await this.control.request("shutdown", {}, { timeoutMs: 5000 });
    } catch (error) {
      // It may have stopped between our check and the request; that is what we wanted.
      if (!isConnectError(error, "AGENT_NOT_RUNNING")) throw error;
    }
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    // Bounded wait for the process to release its ports and files, so a following
    // `connect up` never finds the old one still there.
    while (Date.now() < deadline) {
      const isGone =
        running.pid === undefined ? !(await canConnectToSocket(this.paths.socket, 500)) : !isProcessAlive(running.pid);
      if (isGone) {
        this.log(`Stopped the agent for ${this.paths.dir}${running.pid === undefined ? "" : ` (pid ${running.pid})`}`);
        return;
      }
      await delay(POLL_INTERVAL_MS);
    }
    throw new ConnectError(
      "CONTROL_FAILED",
      `The agent for ${this.paths.dir}${running.pid === undefined ? "" : ` (pid ${running.pid})`} did not stop within ${STOP_TIMEOUT_MS / 1000}s: see ${this.paths.log}`,
    );
  }
}
