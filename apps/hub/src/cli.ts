import { resolve } from "node:path";
import type { RevokedAgentView } from "@private-connect/api";
import { scrubUncaughtErrors, scrubWrites } from "@private-connect/log-hygiene";
import { escapeUnprintable, tuneGarbageCollectorForRelaying } from "@private-connect/protocol";
import { type OperatorAgentList, runAdminCall } from "./admin/admin-commands.js";
import { type AdminCall, callAdminSocket } from "./admin/admin-socket.js";
import { type CommandSpec, isHelpRequested, parseCommandArgs, UsageError } from "./admin/cli-args.js";
import { CommandError, describeCliFailure, type FailureContext } from "./admin/cli-errors.js";
import { readLiveHubPid } from "./admin/data-dir-lock.js";
import { describeMissingHubData, hasHubData } from "./admin/hub-data.js";
import { announceWorkerListening, parseWorkerCount, readWorkerIndex, startWorkers } from "./cluster/workers.js";
import { readHubEnv } from "./config/env.js";
import { createApiDeps, openHubDatabase, startHub } from "./hub.js";
import { createLogger } from "./logger.js";
import { HUB_VERSION } from "./version.js";

/** What a failure is described with (which flag, which variable): filled in as a command learns it. */
const failureContext: FailureContext = {};

const dataOption = { type: "string", default: ".data" } as const;
const jsonOption = { type: "boolean", default: false } as const;

const startSpec = {
  name: "start",
  positionals: [],
  options: {
    port: { type: "string", default: "3001" },
    host: { type: "string", default: "127.0.0.1" },
    data: dataOption,
    workers: { type: "string" },
  },
  help: `Usage: connect-hub start [--port 3001] [--host 127.0.0.1] [--data ./.data] [--workers N|auto]

Runs the hub: relay, control plane and public links on one port, until Ctrl-C.
  --port N          port to listen on (0: any free one; default 3001)
  --host ADDRESS    address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --data DIR        data directory: the PGlite database, secrets, admin socket (default ./.data)
  --workers N|auto  N hub processes on one port (auto: one per core), a cluster of hubs on one
                    machine; needs REDIS_URL and DATABASE_URL (docs/cluster.md)
Storage: PGlite in the data directory, or PostgreSQL when DATABASE_URL is set.
Examples:
  npx connect-hub start --port 3001 --data ./.data
  REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgresql://... npx connect-hub start --workers auto`,
} satisfies CommandSpec;

const workspaceCreateSpec = {
  name: "workspace create",
  positionals: ["NAME"],
  options: { owner: { type: "string" }, json: jsonOption, data: dataOption, init: { type: "boolean", default: false } },
  help: `Usage: connect-hub workspace create NAME --owner EMAIL [--json] [--data ./.data] [--init]

Creates a workspace, its first owner and a first API key (printed once). The slug made from NAME
names the workspace in the other commands, so a name whose slug is taken is refused.
  --owner EMAIL  the workspace's first owner (an existing user is reused)
  --json         print {"workspace":{"id","name","slug"},"apiKey"}
  --data DIR     the hub's data directory (default ./.data): a hub running there does the work
  --init         create the data directory's database when there is none yet (a new hub's data);
                 without it, a directory with no hub data is refused
With DATABASE_URL set, the workspace is made in that PostgreSQL directly (no --data, no --init).
Examples:
  npx connect-hub workspace create acme --owner ops@acme.test --data ./.data
  npx connect-hub workspace create acme --owner ops@acme.test --data /srv/hub --init --json`,
} satisfies CommandSpec;

const agentListSpec = {
  name: "agent list",
  positionals: [],
  options: { workspace: { type: "string" }, json: jsonOption, data: dataOption },
  help: `Usage: connect-hub agent list --workspace SLUG|ID [--json] [--data ./.data]

Lists a workspace's agents: id, label, online or not, last seen, who let it in.
  --workspace SLUG|ID  the workspace (its slug, as workspace create printed it, or its id)
  --json               print {"workspace","agents"}
  --data DIR           the hub's data directory (default ./.data): a hub running there answers
With DATABASE_URL set, a directory with no hub in it reads that PostgreSQL directly.
Examples:
  npx connect-hub agent list --workspace acme --data ./.data`,
} satisfies CommandSpec;

const agentRevokeSpec = {
  name: "agent revoke",
  positionals: ["LABEL|ID"],
  options: { workspace: { type: "string" }, json: jsonOption, data: dataOption },
  help: `Usage: connect-hub agent revoke LABEL|ID --workspace SLUG|ID [--json] [--data ./.data]

Revokes an agent: its token is refused from now on, and the hub running in --data closes its
connection at once.
  --workspace SLUG|ID  the workspace the agent belongs to
  --json               print {"agentId","label","revokedAt"}
  --data DIR           the hub's data directory (default ./.data)
Examples:
  npx connect-hub agent revoke laptop --workspace acme --data ./.data`,
} satisfies CommandSpec;

const usage = `connect-hub: the Private Connect hub

Usage:
  connect-hub start [--port 3001] [--host 127.0.0.1] [--data ./.data] [--workers N|auto]
  connect-hub workspace create NAME --owner EMAIL [--json] [--data ./.data] [--init]
  connect-hub agent list --workspace SLUG|ID [--json] [--data ./.data]
  connect-hub agent revoke LABEL|ID --workspace SLUG|ID [--json] [--data ./.data]
  connect-hub help [COMMAND]   (or COMMAND --help): a command's flags and examples
  connect-hub --version

Storage: PGlite in the data directory, or PostgreSQL when DATABASE_URL is set.
--workers N|auto: N hub processes on one port (auto: one per core), a cluster of hubs on one
  machine; needs REDIS_URL and DATABASE_URL (docs/cluster.md).
Examples:
  npx connect-hub start --port 3001 --data ./.data
  REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgresql://... npx connect-hub start --workers auto
  npx connect-hub workspace create acme --owner ops@acme.test --data ./.data
  npx connect-hub agent revoke laptop --workspace acme --data ./.data`;

async function runStart(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(startSpec, argv);
  const port = Number(values.port);
  if (values.port.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`Invalid --port "${values.port}": use a number from 0 to 65535`);
  failureContext.listen = { host: values.host, port };
  failureContext.dataDir = values.data;
  const workers = parseWorkerCount(values.workers);
  const env = readHubEnv();
  failureContext.env = env;
  // A forked worker runs this same command line; the primary told it which worker it is.
  const workerIndex = readWorkerIndex();
  const rootLog = createLogger(env.LOG_LEVEL);
  // The workers share the primary's stdout: each line says which worker wrote it.
  const log = workerIndex === undefined ? rootLog : rootLog.child({ worker: workerIndex });
  if (workerIndex === undefined && workers > 1) {
    const running = await startWorkers({ env, log, port, host: values.host, dataDir: values.data, workers });
    stopOnSignals(log, running.close);
    return;
  }
  // A port in use, a bad --host, an unreachable DATABASE_URL: described by describeCliFailure.
  const hub = await startHub({
    env,
    log,
    port,
    host: values.host,
    dataDir: values.data,
    worker: workerIndex === undefined ? undefined : { index: workerIndex },
  });
  if (workerIndex !== undefined) announceWorkerListening(hub.url);
  tuneGarbageCollectorForRelaying({ bytesRelayed: () => hub.relay.snapshot().bytesRelayed });
  stopOnSignals(log, hub.close);
}

/** SIGINT/SIGTERM: a graceful stop (a hub's drain, or a primary's workers' drains), then exit. */
function stopOnSignals(log: ReturnType<typeof createLogger>, close: () => Promise<void>): void {
  let isStopping = false;
  const stop = (signal: string) => {
    // Ctrl-C under npm start brings SIGINT from the terminal and SIGTERM from the launcher: one stop.
    if (isStopping) return;
    isStopping = true;
    log.info({ signal }, "hub stopping");
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: String(error) }, "hub did not stop cleanly");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

async function runWorkspaceCreate(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(workspaceCreateSpec, argv);
  const name = positionals[0];
  if (!name) throw new UsageError("Missing workspace name: connect-hub workspace create NAME --owner EMAIL");
  if (!values.owner) throw new UsageError("Missing --owner EMAIL: the workspace's first owner");
  const env = readHubEnv();
  failureContext.env = env;
  const params = { name, ownerEmail: values.owner };

  const created = await runOnHubOrDatabase(
    values.data,
    { method: "workspace.create", params },
    { preferHub: !env.DATABASE_URL, canInit: true, isInit: values.init },
  );
  const result = created as { workspace: { id: string; name: string; slug: string }; apiKey: string; hubUrl?: string };
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ workspace: result.workspace, apiKey: result.apiKey })}\n`);
    return;
  }
  process.stdout.write(
    [
      `Workspace ${escapeUnprintable(result.workspace.name)} created: slug ${result.workspace.slug} (--workspace ${result.workspace.slug} in other commands), id ${result.workspace.id}.`,
      `API key, shown once (store it now): ${result.apiKey}`,
      `Next: npx connect up --hub ${result.hubUrl ?? "http://127.0.0.1:3001"} --api-key ${result.apiKey} --label server`,
      "",
    ].join("\n"),
  );
}

/**
 * Runs an operator command in the hub that holds the data directory, if one does (PGlite allows
 * one process per directory, and only that hub can close a revoked agent's connection), else on
 * the database directly. `preferHub: false` (workspace create on DATABASE_URL) goes straight to
 * the database. Without DATABASE_URL, a directory with no hub data is refused unless `isInit`:
 * opening it would make a new, empty database whose keys the real hub refuses.
 */
async function runOnHubOrDatabase(
  dataDir: string,
  call: AdminCall,
  options: { preferHub: boolean; canInit?: boolean; isInit?: boolean },
): Promise<unknown> {
  failureContext.dataDir = dataDir;
  const viaHub = options.preferHub ? await askRunningHub(dataDir, call) : undefined;
  if (viaHub) {
    if (viaHub.error) throw new CommandError(viaHub.error.message);
    return viaHub.result;
  }
  const env = readHubEnv();
  if (!env.DATABASE_URL && !options.isInit && !(await hasHubData(dataDir))) {
    throw new CommandError(describeMissingHubData(dataDir, { canInit: options.canInit === true }));
  }
  const db = await openHubDatabase(env, dataDir);
  try {
    const result = await runAdminCall(createApiDeps(db, env, { findOnlineAgents: async () => new Set() }), call);
    if (call.method === "agent.revoke" && env.DATABASE_URL) {
      // Only the hub holding the connection can close it; one elsewhere finds out at its sweep.
      process.stderr.write(
        `No hub answered in ${resolve(dataDir)}: the agent's token is refused from now on, and a hub on this database elsewhere closes its open connection within a minute.\n`,
      );
    }
    return result;
  } finally {
    await db.close();
  }
}

async function runAgentList(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(agentListSpec, argv);
  failureContext.env = readHubEnv();
  if (!values.workspace) throw new UsageError("Missing --workspace SLUG|ID: connect-hub agent list --workspace acme");
  const listed = (await runOnHubOrDatabase(
    values.data,
    { method: "agent.list", params: { workspace: values.workspace } },
    { preferHub: true },
  )) as OperatorAgentList;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(listed)}\n`);
    return;
  }
  const lines = [`Agents of ${escapeUnprintable(listed.workspace.name)} (${listed.workspace.slug}):`];
  if (listed.agents.length === 0) lines.push("  none");
  for (const agent of listed.agents) {
    const creator = agent.createdBy.name ?? agent.createdBy.id ?? "unknown";
    const seen = agent.lastSeenAt === null ? "never seen" : `last seen ${agent.lastSeenAt} from ${agent.lastIp ?? "?"}`;
    lines.push(
      `  ${agent.agentId}  ${escapeUnprintable(agent.label)}  ${agent.online ? "online" : "offline"}  ${seen}  created by ${agent.createdBy.type} ${escapeUnprintable(creator)}`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function runAgentRevoke(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(agentRevokeSpec, argv);
  failureContext.env = readHubEnv();
  const agent = positionals[0];
  if (!agent) throw new UsageError("Missing agent: connect-hub agent revoke LABEL|ID --workspace SLUG|ID");
  if (!values.workspace) throw new UsageError("Missing --workspace SLUG|ID: the workspace the agent belongs to");
  const revoked = (await runOnHubOrDatabase(
    values.data,
    { method: "agent.revoke", params: { workspace: values.workspace, agent } },
    { preferHub: true },
  )) as RevokedAgentView & { workspace: { name: string } };
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ agentId: revoked.agentId, label: revoked.label, revokedAt: revoked.revokedAt })}\n`);
    return;
  }
  process.stdout.write(
    `Agent ${escapeUnprintable(revoked.label)} (${revoked.agentId}) of ${escapeUnprintable(revoked.workspace.name)} revoked at ${revoked.revokedAt}: its token no longer works.\n`,
  );
}

/**
 * While a hub holds the data directory, the work must be done by that hub. A hub that is still
 * starting gets up to a minute to open its admin socket.
 */
async function askRunningHub(dataDir: string, call: AdminCall) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await callAdminSocket(dataDir, call);
    if (answer) return answer;
    if ((await readLiveHubPid(dataDir)) === undefined) return undefined;
    if (Date.now() > deadline)
      throw new CommandError(`The hub using ${resolve(dataDir)} does not answer: check its log, or stop it and retry`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Command {
  spec: CommandSpec;
  run(argv: string[]): Promise<void>;
}

const commands: Command[] = [
  { spec: startSpec, run: runStart },
  { spec: workspaceCreateSpec, run: runWorkspaceCreate },
  { spec: agentListSpec, run: runAgentList },
  { spec: agentRevokeSpec, run: runAgentRevoke },
];

/** `workspace`, `agent`: the first word of commands that need a second. */
const groups = new Map<string, Command[]>();
for (const command of commands) {
  const [first, second] = command.spec.name.split(" ");
  if (first !== undefined && second !== undefined) groups.set(first, [...(groups.get(first) ?? []), command]);
}

function describeGroup(group: string, members: Command[]): string {
  const lines = members.map((member) => `  ${member.spec.help.split("\n")[0]?.replace(/^Usage: /, "")}`);
  return [`Usage:`, ...lines, "", `Run connect-hub ${group} COMMAND --help for a command's flags and examples.`].join("\n");
}

/**
 * The command the words name and the arguments after them; a word that names nothing is a
 * UsageError that says where to look. `undefined` command: the help of a group (`agent --help`).
 */
function findCommand(words: string[]): { command: Command; args: string[] } | { help: string } {
  const [first, second, ...rest] = words;
  const single = commands.find((command) => command.spec.name === first);
  if (single) return { command: single, args: words.slice(1) };
  const members = first === undefined ? undefined : groups.get(first);
  if (first === undefined || members === undefined) {
    const what = first?.startsWith("-") ? `Unknown option ${first}` : `Unknown command "${first}"`;
    throw new UsageError(`${what}: run connect-hub --help`);
  }
  const member = members.find((command) => command.spec.name === `${first} ${second}`);
  if (member) return { command: member, args: rest };
  if (second === undefined || second === "--help" || second === "-h") {
    if (second === undefined) {
      const names = members.map((command) => command.spec.name).join(", ");
      throw new UsageError(`Missing command after "${first}" (${names}): run connect-hub ${first} --help`);
    }
    return { help: describeGroup(first, members) };
  }
  throw new UsageError(`Unknown command "${first} ${second}": run connect-hub ${first} --help`);
}

export async function main(argv: string[]): Promise<void> {
  // stderr carries start failures and crash stacks: scrubbed like the JSON log on stdout. Not
  // stdout itself, where `workspace create` prints the new API key on purpose.
  scrubWrites(process.stderr);
  scrubUncaughtErrors();
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v" || first === "version") {
    process.stdout.write(`connect-hub ${HUB_VERSION}\n`);
    return;
  }
  if (first === undefined || first === "--help" || first === "-h") {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (first === "help") {
    if (rest.length === 0) {
      process.stdout.write(`${usage}\n`);
      return;
    }
    const found = findCommand(rest);
    if ("help" in found) process.stdout.write(`${found.help}\n`);
    else if (found.args.length > 0) throw new UsageError(`Unknown command "${rest.join(" ")}": run connect-hub --help`);
    else process.stdout.write(`${found.command.spec.help}\n`);
    return;
  }
  const found = findCommand(argv);
  if ("help" in found) {
    process.stdout.write(`${found.help}\n`);
    return;
  }
  if (isHelpRequested(found.args)) {
    process.stdout.write(`${found.command.spec.help}\n`);
    return;
  }
  await found.command.run(found.args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const failure = describeCliFailure(error, failureContext);
  process.stderr.write(`Error: ${failure.message}\n`);
  if (failure.stack !== undefined) process.stderr.write(`${failure.stack}\n`);
  // Exit now: a failed start may leave open handles (a database pool, a Redis client
  // reconnecting) that would keep the process alive, and a worker must end so the primary sees it.
  process.exit(failure.exitCode);
});
