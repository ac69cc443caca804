import { stat } from "node:fs/promises";
import { Flags } from "@oclif/core";
import { scrubText } from "@private-connect/log-hygiene";
import { escapeUnprintable } from "@private-connect/protocol";
import { BaseCommand } from "../cli/base-command.js";
import { followLog, readLogTail } from "../daemon-install/agent-log.js";
import { ConnectError } from "../errors.js";

const POLL_MS = 250;

export default class Logs extends BaseCommand<typeof Logs> {
  static override summary = "show the agent's log (agent.log), secrets scrubbed; --follow keeps printing";
  static override description =
    "Prints the last lines of agent.log in the config directory, where the agent writes when it runs in the background (connect up --detach, connect daemon install). Tokens, API keys, share codes and other secrets are redacted and IP addresses masked, as in the hub's log. With --follow it goes on printing new lines, across rotation and truncation, until Ctrl-C.";
  static override examples = [
    "<%= config.bin %> logs",
    "<%= config.bin %> logs --follow",
    "<%= config.bin %> logs --lines 200 --config ~/.private-connect-laptop",
  ];
  static override flags = {
    follow: Flags.boolean({
      char: "f",
      description: "keep printing lines as the agent writes them, until Ctrl-C",
      default: false,
    }),
    lines: Flags.integer({
      char: "n",
      description: "how many of the last lines to show first",
      default: 20,
      min: 0,
      max: 100_000,
      helpValue: "N",
    }),
  };

  /** How often --follow looks for new lines; tests shorten it. */
  protected pollMs = POLL_MS;

  async run(): Promise<void> {
    const path = this.paths.log;
    const exists = await stat(path).then(
      (info) => info.isFile(),
      () => false,
    );
    if (!exists) {
      const config = this.flags.config === undefined ? "" : ` --config ${this.paths.dir}`;
      throw new ConnectError(
        "AGENT_NOT_RUNNING",
        `No agent log at ${path}: the agent writes it when it runs in the background. Start it with connect up --detach${config} or connect daemon install${config} (connect up without --detach prints its log to the terminal)`,
      );
    }
    const tail = await readLogTail(path, this.flags.lines, { isCompleteOnly: this.flags.follow });
    for (const line of tail.lines) this.printLine(line);
    if (!this.flags.follow) return;
    const stop = this.createStopSignal();
    try {
      await followLog({
        path,
        offset: tail.endOffset,
        onLine: (line) => this.printLine(line),
        onNotice: (text) => this.logToStderr(escapeUnprintable(text)),
        signal: stop.signal,
        pollMs: this.pollMs,
      });
    } finally {
      stop.dispose();
    }
  }

  /**
   * Ctrl-C (or a service manager's SIGTERM) ends following, and the command, normally: exit 0.
   * Tests replace it to stop the command themselves.
   */
  protected createStopSignal(): { signal: AbortSignal; dispose: () => void } {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    return {
      signal: controller.signal,
      dispose: () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      },
    };
  }

  /** agent.log is scrubbed as it is written; an older or hand-edited one may not be, so again here. */
  private printLine(line: string): void {
    this.log(escapeUnprintable(scrubText(line)));
  }
}
