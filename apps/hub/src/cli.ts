import cluster from "node:cluster";
import { parseArgs } from "node:util";
import type { RevokedAgentView } from "@private-connect/api";
import { scrubUncaughtErrors, scrubWrites } from "@private-connect/log-hygiene";
import { escapeUnprintable, tuneGarbageCollectorForRelaying } from "@private-connect/protocol";
import { type OperatorAgentList, runAdminCall } from "./admin/admin-commands.js";
import { type AdminCall, callAdminSocket } from "./admin/admin-socket.js";
import { readLiveHubPid } from "./admin/data-dir-lock.js";
import { ClusterSecretMismatch } from "./cluster/hub-registry.js";
import { RedisNotReachableAtStart } from "./cluster/redis-client.js";
import { announceWorkerListening, parseWorkerCount, readWorkerIndex, startWorkers, WorkersError } from "./cluster/workers.js";
import { EnvError, readHubEnv } from "./config/env.js";
import { createApiDeps, openHubDatabase, startHub } from "./hub.js";
import { createLogger } from "./logger.js";

const usage = `connect-hub: the Private Connect hub

Usage:
  connect-hub start [--port 3001] [--host 127.0.0.1] [--data ./.data] [--workers N|auto]
  connect-hub workspace create NAME --owner EMAIL [--json] [--data ./.data]
  connect-hub agent list --workspace SLUG|ID [--json] [--data ./.data]
  connect-hub agent revoke LABEL|ID --workspace SLUG|ID [--json] [--data ./.data]

Storage: PGlite in the data directory, or PostgreSQL when DATABASE_URL is set.
--workers N|auto: N hub processes on one port (auto: one per core), a cluster of hubs on one
  machine; needs REDIS_URL and DATABASE_URL (docs/cluster.md).
Examples:
  npx connect-hub start --port 3001 --data ./.data
  REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgresql://... npx connect-hub start --workers auto
  npx connect-hub workspace create acme --owner ops@acme.test --data ./.data
  npx connect-hub agent revoke laptop --workspace acme --data ./.data`;

class UsageError extends Error {}

async function runStart(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "3001" },
      host: { type: "string", default: "127.0.0.1" },
      data: { type: "string", default: ".data" },
      workers: { type: "string" },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`Invalid --port "${values.port}": use a number from 0 to 65535`);
  const workers = parseWorkerCount(values.workers);
  const env = readHubEnv();
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
  let hub: Awaited<ReturnType<typeof startHub>>;
  try {
    hub = await startHub({
      env,
      log,
      port,
      host: values.host,
      dataDir: values.data,
      worker: workerIndex === undefined ? undefined : { index: workerIndex },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UsageError(`Port ${port} is already in use: choose another with --port`);
    throw error;
  }
  if (workerIndex !== undefined) announceWorkerListening(hub.url);
  tuneGarbageCollectorForRelaying({ bytesRelayed: () => hub.relay.snapshot().bytesRelayed });
  stopOnSignals(log, hub.close);
}

/** SIGINT/SIGTERM: a graceful stop (a hub's drain, or a primary's workers' drains), then exit. */
function stopOnSignals(log: ReturnType<typeof createLogger>, close: () => Promise<void>): void {
  const stop = (signal: string) => {
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
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { owner: { type: "string" }, json: { type: "boolean", default: false }, data: { type: "string", default: ".data" } },
  });
  const name = positionals[0];
  if (!name) throw new UsageError("Missing workspace name: connect-hub workspace create NAME --owner EMAIL");
  if (!values.owner) throw new UsageError("Missing --owner EMAIL: the workspace's first owner");
  const env = readHubEnv();
  const params = { name, ownerEmail: values.owner };

  const created = await runOnHubOrDatabase(values.data, { method: "workspace.create", params }, { preferHub: !env.DATABASE_URL });
  const result = created as { workspace: { id: string; name: string; slug: string }; apiKey: string; hubUrl?: string };
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ workspace: result.workspace, apiKey: result.apiKey })}\n`);
    return;
  }
  process.stdout.write(
    [
      `Workspace ${result.workspace.name} created (${result.workspace.id}).`,
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
 * the database.
 */
async function runOnHubOrDatabase(dataDir: string, call: AdminCall, options: { preferHub: boolean }): Promise<unknown> {
  const viaHub = options.preferHub ? await askRunningHub(dataDir, call) : undefined;
  if (viaHub) {
    if (viaHub.error) throw new UsageError(viaHub.error.message);
    return viaHub.result;
  }
  const env = readHubEnv();
  const db = await openHubDatabase(env, dataDir);
  try {
    const result = await runAdminCall(createApiDeps(db, env, { findOnlineAgents: async () => new Set() }), call);
    if (call.method === "agent.revoke" && env.DATABASE_URL) {
      // Only the hub holding the connection can close it; one elsewhere finds out at its sweep.
      process.stderr.write(
        `No hub answered in ${dataDir}: the agent's token is refused from now on, and a hub on this database elsewhere closes its open connection within a minute.\n`,
      );
    }
    return result;
  } finally {
    await db.close();
  }
}

async function runAgentList(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      workspace: { type: "string" },
      json: { type: "boolean", default: false },
      data: { type: "string", default: ".data" },
    },
  });
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
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      workspace: { type: "string" },
      json: { type: "boolean", default: false },
      data: { type: "string", default: ".data" },
    },
  });
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
      throw new UsageError(`The hub using ${dataDir} does not answer: check its log, or stop it and retry`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function main(argv: string[]): Promise<void> {
  // stderr carries start failures and crash stacks: scrubbed like the JSON log on stdout. Not
  // stdout itself, where `workspace create` prints the new API key on purpose.
  scrubWrites(process.stderr);
  scrubUncaughtErrors();
  const [command, ...rest] = argv;
  if (command === "start") return runStart(rest);
  if (command === "workspace" && rest[0] === "create") return runWorkspaceCreate(rest.slice(1));
  if (command === "agent" && rest[0] === "list") return runAgentList(rest.slice(1));
  if (command === "agent" && rest[0] === "revoke") return runAgentRevoke(rest.slice(1));
  if (!command || command === "--help" || command === "help") {
    process.stdout.write(`${usage}\n`);
    return;
  }
  throw new UsageError(`Unknown command "${argv.join(" ")}": run connect-hub --help`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const isExpected =
    error instanceof UsageError ||
    error instanceof EnvError ||
    error instanceof WorkersError ||
    // A cluster the hub cannot join: the message says what to fix.
    error instanceof ClusterSecretMismatch ||
    error instanceof RedisNotReachableAtStart ||
    (error instanceof Error && error.name === "AppError");
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Error: ${message}\n`);
  if (!isExpected && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
  // A worker that could not start must end, so the primary sees it; open handles (a Redis client
  // reconnecting, a database pool) would otherwise keep it alive.
  if (cluster.isWorker) process.exit();
});
