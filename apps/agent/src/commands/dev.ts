import { rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Flags, ux } from "@oclif/core";
import { escapeUnprintable } from "@private-connect/protocol";
import { checkService } from "../check/check-service.js";
import { BaseCommand } from "../cli/base-command.js";
import { formatHostPort } from "../cli/format.js";
import { bindPlannedReaches, stopDevReaches } from "../dev/dev-reaches.js";
import {
  addDevReaches,
  type DevReach,
  forgetDevSession,
  readDevSession,
  removeDevReaches,
  setDevEnvFile,
} from "../dev/dev-sessions.js";
import { ENV_FILE_NAME, formatEnvFile, writeEnvFile } from "../dev/env-file.js";
import { findTakenPorts } from "../dev/find-taken-ports.js";
import { type DevServiceResult, formatDevTable } from "../dev/format-dev-report.js";
import { isListedInGitignore } from "../dev/gitignore-advice.js";
import { parseWaitTimeout } from "../dev/parse-wait-timeout.js";
import { type PlannedReach, planReaches } from "../dev/plan-reaches.js";
import { runExec } from "../dev/run-exec.js";
import { waitUntilAnswering } from "../dev/wait-until-answering.js";
import { ConnectError, isConnectError } from "../errors.js";
import {
  assertProjectHub,
  fillConnectionVariables,
  findProjectFile,
  PROJECT_FILE_NAME,
  PROJECT_REACH_HOST,
  type ProjectFile,
  readProjectFile,
} from "../project/index.js";

export interface DevResult {
  project: string;
  envFile: string | null;
  isEnvFileIgnored: boolean;
  services: DevServiceResult[];
}

export interface DevStopResult {
  project: string;
  stopped: DevReach[];
  envFileRemoved: string | null;
}

export default class Dev extends BaseCommand<typeof Dev> {
  static override summary = "reach every service a project's pconnect.yml lists and write .env.pconnect";
  static override description =
    "Reads pconnect.yml in this directory (or --file), refuses it when its hub: is not this agent's hub, checks that every local port it names is free, reaches each service through the running agent on 127.0.0.1, waits until each answers, prints one table and writes the variables the file names to .env.pconnect (owner-only) next to it. connect dev --stop stops the reaches connect dev made (not ones you made by hand) and removes .env.pconnect. With --exec, runs the command after -- (directly, never through a shell) with those variables set, and stops the reaches it made when the command exits, with its exit code.";
  static override enableJsonFlag = true;
  // What follows -- is the command for --exec, taken as it is.
  static override strict = false;
  static override examples = [
    "<%= config.bin %> dev",
    "<%= config.bin %> dev --file services/pconnect.yml --port-offset 10000",
    "<%= config.bin %> dev --exec -- npm run dev",
    "<%= config.bin %> dev --stop",
    "<%= config.bin %> dev --json --timeout 2m",
  ];
  static override flags = {
    file: Flags.string({ description: `the project file (default: ./${PROJECT_FILE_NAME})`, helpValue: "PATH" }),
    "port-offset": Flags.integer({
      description: "add this to every port of the file, when those ports are taken on this machine",
      default: 0,
      min: -65535,
      max: 65535,
      helpValue: "N",
    }),
    stop: Flags.boolean({
      description: "stop the reaches connect dev made for this project and remove .env.pconnect",
      exclusive: ["exec"],
    }),
    exec: Flags.boolean({
      description: "run the command after -- with the variables set, then stop the reaches",
      exclusive: ["json"],
    }),
    timeout: Flags.string({
      description: "how long to wait for every service to answer",
      default: "60s",
      helpValue: "DURATION",
    }),
  };

  async run(): Promise<DevResult | DevStopResult> {
    const command = this.readExecCommand();
    const dir = process.cwd();
    if (this.flags.stop) return this.stopDev(resolve(dir, this.flags.file ?? PROJECT_FILE_NAME));
    const timeoutMs = parseWaitTimeout(this.flags.timeout);
    const projectPath = findProjectFile(dir, this.flags.file);
    if (projectPath === undefined) {
      throw new ConnectError(
        "INVALID_INPUT",
        `No ${this.flags.file ?? PROJECT_FILE_NAME} in ${dir}: write one listing the services the project needs (see docs/dev.md), or give its path with --file`,
      );
    }
    const project = await readProjectFile(projectPath);
    // Before anything is asked of anyone: a file naming another hub gets nothing from this machine.
    const identity = await this.requireIdentity();
    assertProjectHub(project, identity.hubUrl);

    const portOffset = this.flags["port-offset"];
    const status = await this.control.request("status", {});
    const session = await readDevSession(this.paths.dir, projectPath);
    const plan = planReaches(project, portOffset, status.reaches, session);
    await assertPortsFree(project, plan);
    const made = await bindPlannedReaches(this.control, plan, (line) => this.warnLine(line));
    await addDevReaches(this.paths.dir, projectPath, made);

    let results: DevServiceResult[];
    try {
      results = await this.waitForAll(plan, timeoutMs);
    } catch (error) {
      // The check itself failed (the agent went away): leave nothing bound that no one will use.
      await this.forgetReaches(projectPath, made);
      throw error;
    }
    const variables = fillConnectionVariables(project, portOffset);
    if (command !== undefined) {
      const code = await this.execWith(project, made, results, command, variables);
      if (code !== 0) this.exit(code);
      return { project: projectPath, envFile: null, isEnvFileIgnored: false, services: results };
    }

    const envFile = join(dirname(projectPath), ENV_FILE_NAME);
    await writeEnvFile(envFile, formatEnvFile(variables, projectPath));
    await setDevEnvFile(this.paths.dir, projectPath, envFile);
    const isEnvFileIgnored = await isListedInGitignore(dirname(projectPath), ENV_FILE_NAME);
    this.report(formatDevTable(results));
    this.report(`Wrote ${variables.length} variable${variables.length === 1 ? "" : "s"} to ${envFile} (owner-only)`);
    if (!isEnvFileIgnored) {
      this.warnLine(
        `Add ${ENV_FILE_NAME} to ${join(dirname(projectPath), ".gitignore")}: it is for this machine only, never commit it`,
      );
    }
    this.reportProblems(results);
    // The reaches stay: a service that answers later works on its port without running dev again.
    if (results.some((result) => !result.isReady)) process.exitCode = 1;
    return { project: projectPath, envFile, isEnvFileIgnored, services: results };
  }

  /** The command after --, for --exec; refuses arguments that are neither a flag nor after --. */
  private readExecCommand(): string[] | undefined {
    const separator = this.argv.indexOf("--");
    const before = separator === -1 ? this.argv : this.argv.slice(0, separator);
    const stray = findStrayArgument(before);
    if (stray !== undefined) {
      throw new ConnectError(
        "INVALID_INPUT",
        `connect dev takes no argument "${stray}": give a command to run after --exec --, for example connect dev --exec -- npm run dev`,
      );
    }
    const command = separator === -1 ? [] : this.argv.slice(separator + 1);
    if (!this.flags.exec) {
      if (command.length > 0) {
        throw new ConnectError("INVALID_INPUT", `Add --exec to run ${command[0]}: connect dev --exec -- ${command.join(" ")}`);
      }
      return undefined;
    }
    if (command.length === 0) {
      throw new ConnectError("INVALID_INPUT", "Give the command to run after --, for example connect dev --exec -- npm run dev");
    }
    return command;
  }

  /** Checks every service in parallel until it answers or the wait is over. */
  private async waitForAll(plan: readonly PlannedReach[], timeoutMs: number): Promise<DevServiceResult[]> {
    if (!this.jsonEnabled()) ux.action.start(`Waiting for ${plan.length} service${plan.length === 1 ? "" : "s"} to answer`);
    const control = this.control;
    const results = await Promise.all(
      plan.map(async ({ service, reach, isMadeByDev }): Promise<DevServiceResult> => {
        const { report } = await waitUntilAnswering(
          (request) => checkService(control, request),
          {
            service: service.name,
            portHint: service.port,
            ...(service.from === undefined ? {} : { from: service.from }),
            ...(service.protocol === undefined ? {} : { protocol: service.protocol }),
          },
          timeoutMs,
        );
        return {
          service: reach.service,
          ...(reach.from === undefined ? {} : { from: reach.from }),
          host: reach.host,
          port: reach.port,
          ...(service.env === undefined ? {} : { env: service.env }),
          isReady: report.isHealthy,
          isMadeByDev,
          check: {
            protocol: report.protocol,
            summary: report.summary,
            openMs: report.openMs,
            probeMs: report.probeMs,
            ...(report.problem === undefined ? {} : { problem: report.problem }),
          },
        };
      }),
    );
    if (!this.jsonEnabled()) ux.action.stop(results.every((result) => result.isReady) ? "done" : "not all answered");
    return results;
  }

  /**
   * Runs the command with the variables and stops what this run reached when it exits. The
   * reaches that were there before (the user's, or an earlier connect dev's) are left alone.
   */
  private async execWith(
    project: ProjectFile,
    made: DevReach[],
    results: DevServiceResult[],
    command: string[],
    variables: ReturnType<typeof fillConnectionVariables>,
  ): Promise<number> {
    this.report(formatDevTable(results));
    const silent = results.filter((result) => !result.isReady);
    if (silent.length > 0) {
      this.reportProblems(results);
      await this.forgetReaches(project.path, made);
      throw new ConnectError(
        "NOT_CONNECTED",
        `${silent.map((result) => result.service).join(", ")} did not answer within ${this.flags.timeout}, so ${command[0]} was not started: see the problem above, or wait longer with --timeout`,
      );
    }
    // The child gets the user's whole environment, as a shell would give it, plus the variables.
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const { name, value } of variables) env[name] = value;
    let code: number;
    try {
      code = await runExec(command, env);
    } finally {
      await this.forgetReaches(project.path, made);
    }
    return code;
  }

  /** connect dev --stop: only what the session recorded, and only while it is still as dev left it. */
  private async stopDev(projectPath: string): Promise<DevStopResult> {
    const session = await readDevSession(this.paths.dir, projectPath);
    if (session === undefined) {
      this.report(`connect dev made nothing for ${projectPath} with this agent: nothing to stop`);
      return { project: projectPath, stopped: [], envFileRemoved: null };
    }
    let current: DevReach[] = [];
    try {
      current = (await this.control.request("status", {})).reaches.map(({ service, from, host, port }) => ({
        service,
        ...(from === undefined ? {} : { from }),
        host,
        port,
      }));
    } catch (error) {
      // No running agent: no reach is bound, and the record and the file can still go.
      if (!isConnectError(error, "AGENT_NOT_RUNNING")) throw error;
    }
    // A reach the user stopped and made again by hand (another port) is theirs now.
    const stillDevs = session.reaches.filter((made) =>
      current.some((reach) => reach.service === made.service && reach.from === made.from && reach.port === made.port),
    );
    await stopDevReaches(this.control, stillDevs, (line) => this.warnLine(line));
    if (session.envFile !== undefined) await rm(session.envFile, { force: true });
    await forgetDevSession(this.paths.dir, projectPath);
    const lines = stillDevs.map((reach) => `Stopped reaching ${reach.service} on ${formatHostPort(reach.host, reach.port)}`);
    if (session.envFile !== undefined) lines.push(`Removed ${session.envFile}`);
    this.report(lines.length === 0 ? "Nothing left to stop" : lines);
    return { project: projectPath, stopped: stillDevs, envFileRemoved: session.envFile ?? null };
  }

  private async forgetReaches(projectPath: string, reaches: readonly DevReach[]): Promise<void> {
    await stopDevReaches(this.control, reaches, (line) => this.warnLine(line));
    await removeDevReaches(this.paths.dir, projectPath, reaches);
  }

  private reportProblems(results: readonly DevServiceResult[]): void {
    for (const result of results) {
      if (!result.isReady) this.warnLine(`${result.service}: ${result.check.problem ?? result.check.summary}`);
    }
  }

  /** To stderr even under --json: scripts read stdout, people read this. */
  private warnLine(line: string): void {
    ux.stderr(escapeUnprintable(line));
  }
}

/** Fails before binding anything, naming the first taken port, its service and the way out. */
async function assertPortsFree(project: ProjectFile, plan: readonly PlannedReach[]): Promise<void> {
  const toBind = plan.filter((planned) => !planned.isPresent);
  const taken = await findTakenPorts(
    PROJECT_REACH_HOST,
    toBind.map((planned) => planned.reach.port),
  );
  const first = toBind.find((planned) => taken.includes(planned.reach.port));
  if (first === undefined) return;
  const others = taken.length > 1 ? ` (also taken: ${taken.slice(1).join(", ")})` : "";
  throw new ConnectError(
    "PORT_IN_USE",
    `Port ${first.reach.port} for ${first.service.name} (${project.path}) is already in use on ${PROJECT_REACH_HOST}${others}: stop what listens there, or move every port of the file with --port-offset N (for example --port-offset 10000); nothing was reached`,
  );
}

/** The first argument before -- that is neither a flag nor a flag's value (`--file pconnect.yml`). */
function findStrayArgument(args: readonly string[]): string | undefined {
  return args.find((arg, index) => {
    if (arg.startsWith("-")) return false;
    const previous = index > 0 ? args[index - 1] : undefined;
    return previous === undefined || !/^--(file|port-offset|timeout|config)$/.test(previous);
  });
}
