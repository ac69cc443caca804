import { Command, Flags, type Interfaces } from "@oclif/core";
import { escapeUnprintable } from "@private-connect/protocol";
import { type AgentIdentity, readIdentity } from "../config/identity.js";
import { type ConfigPaths, getConfigPaths, resolveConfigDir } from "../config/paths.js";
import { type ControlClient, createControlClient } from "../daemon/control-client.js";
import { describeRevocation, readRevocation, recordRevocationIfRevoked } from "../daemon/last-stop.js";
import { type AgentEnv, readAgentEnv } from "../env.js";
import { ConnectError, describeError, isConnectError } from "../errors.js";
import { callHub, createHubClient, type HubClient } from "../sdk/hub-client.js";

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)["baseFlags"] & T["flags"]>;
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T["args"]>;

/**
 * What every `connect` command shares: the config directory (`--config`, CONNECT_HOME or
 * ~/.private-connect), the saved identity, a client of the running agent's control socket,
 * and one way of reporting errors (one line, non-zero exit; JSON too under --json).
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    config: Flags.string({
      summary: "Config directory of the agent (default: CONNECT_HOME or ~/.private-connect).",
      helpGroup: "GLOBAL",
      helpValue: "DIR",
    }),
  };

  protected flags!: CommandFlags<T>;
  protected args!: CommandArgs<T>;
  protected env!: AgentEnv;
  protected paths!: ConfigPaths;

  override async init(): Promise<void> {
    await super.init();
    const { args, flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as CommandFlags<T>;
    this.args = args as CommandArgs<T>;
    try {
      this.env = readAgentEnv();
    } catch (error) {
      this.error(describeError(error), { exit: 1 });
    }
    this.paths = getConfigPaths(resolveConfigDir({ flag: this.flags.config, connectHome: this.env.connectHome }));
  }

  protected async readIdentity(): Promise<AgentIdentity | undefined> {
    return readIdentity(this.paths.identity);
  }

  /** This machine's agent identity; without one, the error that says how to get one. */
  protected async requireIdentity(): Promise<AgentIdentity> {
    const identity = await this.readIdentity();
    if (identity === undefined) {
      throw new ConnectError(
        "NOT_REGISTERED",
        `This machine has no agent identity in ${this.paths.dir}: run connect up --hub URL --api-key KEY (or connect login) first`,
      );
    }
    return identity;
  }

  /**
   * Runs one control-plane call as this machine's agent (its saved token), whether or not the
   * agent is running: shares, links and the audit log need the identity, not the tunnel.
   */
  protected async callHubAsAgent<R>(call: (client: HubClient, identity: AgentIdentity) => Promise<R>): Promise<R> {
    const identity = await this.requireIdentity();
    // A revoked agent's token is dead for good: say so here rather than send it again.
    const revocation = await readRevocation(this.paths.lastStop, identity.agentId);
    if (revocation !== undefined) throw new ConnectError("HUB_UNAUTHORIZED", describeRevocation(revocation));
    const client = createHubClient(identity.hubUrl, identity.token);
    try {
      return await callHub(identity.hubUrl, () => call(client, identity));
    } catch (error) {
      if (isConnectError(error, "HUB_UNAUTHORIZED")) {
        await recordRevocationIfRevoked(this.paths.lastStop, identity.agentId, error, new Date());
      }
      throw error;
    }
  }

  protected get control(): ControlClient {
    return createControlClient(this.paths.socket);
  }

  /**
   * Prints a result unless --json asked for the returned object instead. Results carry the hub's
   * text (names, labels, some of another workspace's), so every character that would drive the
   * terminal is written out visibly (escapeUnprintable). Pass lines as an array when a line holds
   * such text: a line break inside one element is then shown as \n too, not as a forged line.
   */
  protected report(lines: string | string[]): void {
    if (this.jsonEnabled()) return;
    const list = Array.isArray(lines) ? lines : lines.split("\n");
    this.log(list.map(escapeUnprintable).join("\n"));
  }

  protected override async catch(
    error: Error & { exitCode?: number; code?: string; oclif?: { exit?: number | false } },
  ): Promise<unknown> {
    // `this.exit()` travels as an error too; oclif must see it to exit with its code.
    if (error.code === "EEXIT" || !error.message) return super.catch(error);
    // oclif would wrap the message at 80 columns with a prefix on every line, which breaks
    // both "one line" and anyone searching the output for the sentence. Print it whole.
    const exitCode = error instanceof ConnectError ? 1 : typeof error.oclif?.exit === "number" ? error.oclif.exit : 1;
    process.exitCode = exitCode;
    // oclif's own parse errors span lines ("Parsing --port\n\tExpected..."): join them.
    // Join with ". " only where a line does not already end a sentence, so text the user gave
    // (a path with "..", say) is printed exactly as it was.
    const message = error.message
      .split("\n")
      // The hub's messages are shown to a terminal too: never as commands to it.
      .map((line) => escapeUnprintable(line.trim()))
      .filter((line) => line !== "")
      .reduce((joined, line) => (joined === "" ? line : `${joined}${/[.:;!?]$/.test(joined) ? " " : ". "}${line}`), "");
    if (this.jsonEnabled()) {
      // Scripts read the JSON on stdout; people and logs read stderr. Both get the reason.
      this.logJson({ error: error instanceof ConnectError ? { code: error.code, message } : { message } });
    }
    this.logToStderr(`Error: ${message}`);
    return undefined;
  }
}
