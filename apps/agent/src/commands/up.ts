import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Flags, ux } from "@oclif/core";
import { scrubUncaughtErrors, scrubWrites } from "@private-connect/log-hygiene";
import { escapeUnprintable, tuneGarbageCollectorForRelaying } from "@private-connect/protocol";
import { BaseCommand } from "../cli/base-command.js";
import { describeTokenExpiry } from "../cli/token-expiry.js";
import { normalizeHubUrl } from "../config/hub-url.js";
import { type AgentIdentity, writeIdentity } from "../config/identity.js";
import { ensureConfigDir } from "../config/json-file.js";
import { readState } from "../config/state.js";
import { findRunningAgent, isProcessAlive } from "../daemon/agent-process.js";
import type { AgentProcessStatus } from "../daemon/control-protocol.js";
import { describeRevocation, readRevocation, recordRevocationIfRevoked } from "../daemon/last-stop.js";
import { runDaemon } from "../daemon/run-daemon.js";
import { ConnectError, describeError, isConnectError } from "../errors.js";
import { Agent } from "../sdk/agent.js";
import { identityFromToken } from "../sdk/credentials.js";
import { callHub, createHubClient } from "../sdk/hub-client.js";
import { rotateToken } from "./token/rotate.js";

/** After a clean stop, give stray handles this long before exiting anyway. */
const EXIT_GRACE_MS = 2000;

export default class Up extends BaseCommand<typeof Up> {
  static override summary = "register this machine as an agent and run it";
  static override description = [
    "Registers an agent with the hub on first use (or with --api-key when the saved one cannot be used), keeps its identity in the config directory, then runs it until stopped: one hub connection, the saved exposures and reaches restored.",
    "With --token (or PRIVATECONNECT_TOKEN) it runs as the agent of a token the hub issued elsewhere, such as a provisioned one, without registering.",
    "With --detach it runs in the background (output in agent.log) and returns once it is connected; connect down stops it.",
    "With --rotate-token it replaces the agent token before it expires and exits (the same as connect token rotate): through the running agent when there is one (its hub connection and streams stay up), else directly.",
  ].join("\n\n");
  static override examples = [
    "<%= config.bin %> up --hub https://hub.example.com --api-key pc_XXXX --label server --detach",
    "<%= config.bin %> up --hub http://127.0.0.1:3001 --api-key pc_XXXX --label laptop --config ~/.private-connect-laptop",
    "<%= config.bin %> up --detach",
    "<%= config.bin %> up --rotate-token",
    "<%= config.bin %> up --hub https://hub.example.com --token 3f2a...e9 --detach",
  ];
  static override flags = {
    hub: Flags.string({ description: "URL of the hub, for example https://hub.example.com", helpValue: "URL" }),
    "api-key": Flags.string({
      description: "workspace API key (pc_...) to register this agent with",
      helpValue: "KEY",
      exclusive: ["token"],
    }),
    token: Flags.string({
      description:
        "agent token the hub issued elsewhere (POST /v1/agents/provision): run as that agent without registering (default: PRIVATECONNECT_TOKEN)",
      helpValue: "TOKEN",
      exclusive: ["api-key", "label"],
    }),
    label: Flags.string({ description: "name of this agent in the workspace (default: the host name)", helpValue: "NAME" }),
    "rotate-token": Flags.boolean({
      description: "replace the agent token before it expires, without dropping the running agent's streams, then exit",
      default: false,
      exclusive: ["api-key", "token", "label", "hub", "detach"],
    }),
    detach: Flags.boolean({ description: "run in the background and return once connected", default: false }),
    timeout: Flags.integer({
      description: "with --detach, seconds to wait for the hub connection",
      default: 30,
      min: 1,
      max: 600,
      helpValue: "SECONDS",
    }),
  };

  async run(): Promise<void> {
    // What `connect up` prints is the agent's log (the terminal, or agent.log when detached),
    // including what libraries print: scrub all of it, like the hub's log (packages/log-hygiene).
    // The --detach parent too: its errors may echo what was typed (a hub URL with a password).
    scrubWrites(process.stdout);
    scrubWrites(process.stderr);
    scrubUncaughtErrors();
    if (this.flags["rotate-token"]) {
      // The form the security overview promises; connect token rotate is the same code.
      this.log((await rotateToken(this.paths, { isInsecureAllowed: this.env.isInsecureAllowed })).message);
      return;
    }
    await this.refuseIfRunning();
    const identity = await this.prepareIdentity();
    const warning = describeTokenExpiry(identity, this.now());
    // One line on stderr: oclif's warn() would wrap it, and people and scripts search for the sentence.
    if (warning !== undefined) this.logToStderr(`Warning: ${warning}`);
    if (this.flags.detach) {
      await this.runDetached(identity);
      return;
    }
    await this.runForeground(identity, warning !== undefined);
  }

  /** The clock the expiry warning reads; a seam for tests. */
  protected now(): Date {
    return new Date();
  }

  private async refuseIfRunning(): Promise<void> {
    const running = await findRunningAgent(this.paths);
    if (running === undefined) return;
    throw new ConnectError(
      "AGENT_ALREADY_RUNNING",
      `An agent is already running for ${this.paths.dir}${running.pid === undefined ? "" : ` (pid ${running.pid})`}: stop it with connect down, or use another --config`,
    );
  }

  /** Uses the saved identity when it still works for this hub, else registers a new agent. */
  private async prepareIdentity(): Promise<AgentIdentity> {
    const saved = await this.readIdentity();
    const apiKey = this.flags["api-key"];
    const isInsecureAllowed = this.env.isInsecureAllowed;
    const hubUrl = this.flags.hub !== undefined ? normalizeHubUrl(this.flags.hub, { isInsecureAllowed }) : saved?.hubUrl;
    if (hubUrl === undefined) {
      throw new ConnectError(
        "INVALID_INPUT",
        "Pass --hub URL (and --api-key pc_... to register), for example --hub https://hub.example.com",
      );
    }
    // Checks the saved URL against today's policy too (CONNECT_ALLOW_INSECURE may be gone).
    normalizeHubUrl(hubUrl, { isInsecureAllowed });

    // An explicit --api-key means "register"; the environment's token must not override it.
    const givenToken = this.flags.token ?? (apiKey === undefined ? this.env.privateConnectToken : undefined);
    if (givenToken !== undefined) return this.useGivenToken(givenToken, hubUrl, saved);

    const label = this.flags.label;
    let reasonToRegister: string | undefined;
    let revocation = saved === undefined ? undefined : await readRevocation(this.paths.lastStop, saved.agentId);
    if (saved === undefined) {
      reasonToRegister = `No agent is registered in ${this.paths.dir}: pass --api-key pc_... to register one (or run connect login later)`;
    } else if (saved.hubUrl !== hubUrl) {
      reasonToRegister = `This agent is registered with ${saved.hubUrl}: pass --api-key pc_... to register it with ${hubUrl}`;
    } else if (label !== undefined && label !== saved.label) {
      reasonToRegister = `This agent is registered as "${saved.label}": pass --api-key pc_... to register it again as "${label}"`;
    } else if (revocation !== undefined) {
      // Revoked for good: its token is not sent again, not even to ask whether it still works.
      reasonToRegister = describeRevocation(revocation);
    } else {
      try {
        const client = createHubClient(hubUrl, saved.token);
        const me = await callHub(hubUrl, () => client.agents.me.query());
        const current: AgentIdentity = {
          ...saved,
          tokenExpiresAt: me.tokenExpiresAt,
          workspace: { id: me.workspace.id, name: me.workspace.name },
          label: me.label,
          registeredAt: me.registeredAt,
          tokenMaxExpiresAt: me.tokenMaxExpiresAt,
        };
        if (JSON.stringify(current) !== JSON.stringify(saved)) await writeIdentity(this.paths.identity, current);
        if (apiKey !== undefined)
          this.note(`Using agent ${current.label} (${current.agentId}) registered earlier in ${this.paths.dir}`);
        return current;
      } catch (error) {
        // Only a rejected token is worth a new registration; an unreachable hub stays an error.
        if (!isConnectError(error, "HUB_UNAUTHORIZED") && !isConnectError(error, "TOKEN_EXPIRED")) throw error;
        // Revoked while it was not running: remembered, so the next start does not ask again.
        if (isConnectError(error, "HUB_UNAUTHORIZED")) {
          await recordRevocationIfRevoked(this.paths.lastStop, saved.agentId, error, this.now());
          revocation = await readRevocation(this.paths.lastStop, saved.agentId);
        }
        reasonToRegister = `${error.message} (pass --api-key pc_... to register this agent again)`;
      }
    }
    if (apiKey === undefined) throw new ConnectError("NOT_REGISTERED", reasonToRegister);

    // A revoked agent's token is refused anyway; the hub took its service names back with it.
    if (saved !== undefined && saved.hubUrl === hubUrl && revocation === undefined) await this.releaseExposures(saved);
    const identity = await Agent.register({
      hubUrl,
      apiKey,
      label: label ?? saved?.label ?? hostname(),
      clientType: "cli",
      isInsecureAllowed,
    });
    await writeIdentity(this.paths.identity, identity);
    this.note(`Registered agent ${identity.label} (${identity.agentId}) in workspace ${identity.workspace.name}`);
    return identity;
  }

  /**
   * `--token` / PRIVATECONNECT_TOKEN: the hub already issued this agent (typically provisioned for
   * an AI agent runtime), so there is nothing to register; the hub says who the token is.
   */
  private async useGivenToken(token: string, hubUrl: string, saved: AgentIdentity | undefined): Promise<AgentIdentity> {
    const source = this.flags.token === undefined ? "PRIVATECONNECT_TOKEN" : "--token";
    let identity: AgentIdentity;
    try {
      identity = await identityFromToken({ hubUrl, token, isInsecureAllowed: this.env.isInsecureAllowed });
    } catch (error) {
      if (isConnectError(error, "HUB_UNAUTHORIZED") || isConnectError(error, "TOKEN_EXPIRED")) {
        throw new ConnectError(error.code, `The hub refused the token from ${source}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    if (
      saved !== undefined &&
      saved.hubUrl === hubUrl &&
      saved.agentId !== identity.agentId &&
      (await readRevocation(this.paths.lastStop, saved.agentId)) === undefined
    ) {
      await this.releaseExposures(saved);
    }
    if (JSON.stringify(identity) !== JSON.stringify(saved)) await writeIdentity(this.paths.identity, identity);
    this.note(
      `Using agent ${identity.label} (${identity.agentId}) in workspace ${identity.workspace.name} from ${source}${identity.isProvisioned === true ? ` (provisioned, expires ${identity.tokenExpiresAt})` : ""}`,
    );
    return identity;
  }

  /**
   * Before an agent is replaced by a new registration, it gives up its service names, so the
   * new agent can announce the saved exposures again instead of hitting "name taken".
   */
  private async releaseExposures(previous: AgentIdentity): Promise<void> {
    const state = await readState(this.paths.state);
    if (state.exposures.length === 0) return;
    const client = createHubClient(previous.hubUrl, previous.token, { timeoutMs: 5000 });
    for (const exposure of state.exposures) {
      await callHub(previous.hubUrl, () => client.services.unexpose.mutate({ name: exposure.name })).catch(() => undefined);
    }
  }

  private async runForeground(identity: AgentIdentity, hasWarnedAboutExpiry: boolean): Promise<void> {
    // This process is now the agent (in a terminal, or the child of --detach): it relays bytes.
    tuneGarbageCollectorForRelaying();
    const isTerminal = process.stdout.isTTY === true;
    const result = await runDaemon({
      paths: this.paths,
      identity,
      isInsecureAllowed: this.env.isInsecureAllowed,
      heartbeatMs: this.env.heartbeatMs,
      hasWarnedAboutExpiry,
      // agent.log needs timestamps; a terminal reads better without them.
      // Lines carry the hub's text (notices, the workspace's name, close reasons): never commands
      // to the terminal, nor extra lines in agent.log.
      log: (line) => this.log(escapeUnprintable(isTerminal ? line : `${new Date().toISOString()} ${line}`)),
    });
    // The relay client may leave timers behind; a stopped agent must still exit promptly.
    setTimeout(() => process.exit(process.exitCode ?? result.exitCode), EXIT_GRACE_MS).unref();
    if (result.fatalError !== undefined) throw new ConnectError("HUB_REJECTED", result.fatalError.message);
    if (result.exitCode !== 0) this.exit(result.exitCode);
  }

  private async runDetached(identity: AgentIdentity): Promise<void> {
    await ensureConfigDir(this.paths.dir);
    const logOffset = await stat(this.paths.log).then(
      (info) => info.size,
      () => 0,
    );
    const logFd = openSync(this.paths.log, "a", 0o600);
    const runScript = join(this.config.root, "bin", "run.js");
    const child = spawn(process.execPath, [runScript, "up", "--config", this.paths.dir], {
      detached: true,
      stdio: ["ignore", logFd, logFd],
    });
    closeSync(logFd);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        exit = { code, signal };
        resolve();
      });
      child.once("error", (error) => {
        spawnError = error;
        resolve();
      });
    });

    // A spinner is for someone watching a terminal; scripts get exactly one line either way.
    const isSpinning = process.stderr.isTTY === true;
    if (isSpinning) ux.action.start(`Starting the agent for ${this.paths.dir}`, undefined, { stdout: false });
    const deadline = Date.now() + this.flags.timeout * 1000;
    let status: AgentProcessStatus | undefined;
    let failure: string | undefined;
    while (status === undefined && failure === undefined) {
      if (spawnError !== undefined) {
        failure = `Cannot start the agent: ${spawnError.message}`;
        break;
      }
      if (exit !== undefined) {
        failure = await this.readFailureFromLog(logOffset, exit);
        break;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        failure = `The agent did not connect to ${identity.hubUrl} within ${this.flags.timeout}s: see ${this.paths.log}`;
        break;
      }
      try {
        const answer = await Promise.race([
          this.control.request("waitConnected", { timeoutMs: remaining }, { timeoutMs: remaining + 2000 }),
          exited.then(() => undefined),
        ]);
        if (answer !== undefined) status = answer;
      } catch (error) {
        // The child has not opened its control socket yet: poll again, bounded by the deadline.
        if (isConnectError(error, "AGENT_NOT_RUNNING")) {
          await Promise.race([delay(100), exited]);
          continue;
        }
        failure = describeError(error);
      }
    }

    if (status === undefined) {
      if (isSpinning) ux.action.stop("failed");
      await this.stopChild(child.pid);
      throw new ConnectError("NOT_CONNECTED", failure ?? `The agent did not start: see ${this.paths.log}`);
    }
    if (isSpinning) ux.action.stop("done");
    child.unref();
    this.log(
      escapeUnprintable(
        `Agent ${status.agent.label} is connected to ${status.hub.url} (workspace ${status.agent.workspace.name}, pid ${status.pid}); stop it with connect down`,
      ),
    );
  }

  /**
   * Progress worth a line in the foreground (it lands in the terminal or agent.log); with
   * --detach the final line says it all, and a failure stays a single error line.
   */
  private note(line: string): void {
    if (!this.flags.detach) this.log(line);
  }

  /** Stops a detached child that did not come up, so a failed `up --detach` leaves nothing behind. */
  private async stopChild(pid: number | undefined): Promise<void> {
    if (pid === undefined || !isProcessAlive(pid)) return;
    await this.control.request("shutdown", {}, { timeoutMs: 3000 }).catch(() => {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    });
  }

  /** The reason a detached agent gave before it exited: its last error line in agent.log. */
  private async readFailureFromLog(
    offset: number,
    exit: { code: number | null; signal: NodeJS.Signals | null },
  ): Promise<string> {
    const text = await readFile(this.paths.log, "utf8").then(
      (all) => all.slice(offset),
      () => "",
    );
    const lines = text
      .split("\n")
      .map((line) => line.replace(/^[\s›]+/, "").trim())
      .filter((line) => line !== "");
    const errorLine = lines.findLast((line) => line.startsWith("Error: "));
    if (errorLine !== undefined) return errorLine.slice("Error: ".length);
    const stopLine = lines.findLast((line) => /Stopping: /.test(line));
    if (stopLine !== undefined) return stopLine.replace(/^.*Stopping: /, "");
    const how = exit.signal === null ? `exit code ${exit.code ?? "unknown"}` : `signal ${exit.signal}`;
    return `The agent stopped (${how}) before connecting: see ${this.paths.log}`;
  }
}
