// Small messages (issue 20): real clients that nobody here wrote, through each contender, against
// the PostgreSQL and Redis on this machine. pgbench -S is one SELECT by primary key per round
// trip; redis-benchmark GET is one tiny command per round trip, then 16 pipelined per write.
// Each contender forwards to the real server (a fresh instance of it, started with that port).
import { snapshotCpu, systemBusySeconds } from "./proc.mjs";
import { log, run } from "./tools.mjs";

const PGBENCH = "/usr/bin/pgbench";
const PSQL = "/usr/bin/psql";
const REDIS_BENCHMARK = "/usr/bin/redis-benchmark";

/**
 * Where the small-message servers are: the PostgreSQL and Redis the cluster shapes use too
 * (BENCH_POSTGRES_URL, BENCH_REDIS_URL; by default the machine's own, on loopback).
 */
export function smallMessageServers(options) {
  const postgres = new URL(options.clusterPostgresUrl);
  const redis = new URL(options.clusterRedisUrl);
  return {
    postgres: {
      host: postgres.hostname,
      port: Number(postgres.port || 5432),
      user: decodeURIComponent(postgres.username || "postgres"),
      // An SSLRequest: PostgreSQL answers it with one byte ("S" or "N") before any login.
      greeting: "0000000804d2162f",
    },
    redis: { host: redis.hostname, port: Number(redis.port || 6379), greeting: Buffer.from("PING\r\n").toString("hex") },
  };
}

/**
 * A database of its own for pgbench (scale 1: 100,000 accounts), made once per bench run and
 * dropped at the end, so the bench never touches another database. Undefined (with the reason
 * logged) when PostgreSQL does not answer.
 */
export async function preparePgbenchDatabase(servers) {
  const { host, port, user } = servers.postgres;
  const database = `pc_bench_${process.pid}`;
  const psql = (sql) =>
    run(PSQL, ["-h", host, "-p", String(port), "-U", user, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql]);
  try {
    await psql(`DROP DATABASE IF EXISTS ${database}`);
    await psql(`CREATE DATABASE ${database}`);
    await run(PGBENCH, ["-i", "-q", "-s", "1", "-h", host, "-p", String(port), "-U", user, database], { timeoutMs: 120_000 });
  } catch (error) {
    log(`pgbench: PostgreSQL on ${host}:${port} is not usable: ${error.message.split("\n")[0]}`);
    return undefined;
  }
  return {
    database,
    async drop() {
      await psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((error) =>
        log(`dropping ${database}: ${error.message.split("\n")[0]}`),
      );
    },
  };
}

/** pgbench -S (select only), 8 clients on 2 threads, through the contender's entry port. */
export async function pgbenchSelect({ instance, options, pgbench, cores }) {
  if (pgbench === undefined) throw new Error("skipped: PostgreSQL for pgbench is not available (see the log)");
  const { user } = smallMessageServers(options).postgres;
  const seconds = String(options.smallMessageSeconds);
  const args = ["-S", "-n", "-c", "8", "-j", "2", "-T", seconds, "-h", "127.0.0.1", "-p", String(instance.entryPort), "-U", user];
  const cpuBefore = snapshotCpu(instance.roles);
  const busyBefore = systemBusySeconds();
  const startedAt = process.hrtime.bigint();
  const { stdout } = await run(PGBENCH, [...args, pgbench.database], { timeoutMs: 60_000 });
  const elapsed = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const cpuAfter = snapshotCpu(instance.roles);
  const busyShare = (systemBusySeconds() - busyBefore) / elapsed / cores;
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1];
  const failed = /number of failed transactions: (\d+)/.exec(stdout)?.[1];
  if (tps === undefined) throw new Error(`pgbench printed no tps:\n${stdout}`);
  if (failed !== undefined && Number(failed) > 0) throw new Error(`pgbench: ${failed} failed transactions`);
  // CPU per transaction of each process of the contender, and how busy the whole machine was:
  // well under 100% busy means the round trips wait on wake-ups and hops, not on CPU.
  const transactions = Number(tps) * elapsed;
  const cpuMicrosPerTransaction = Object.fromEntries(
    Object.keys(cpuAfter).map((role) => [role, ((cpuAfter[role] - cpuBefore[role]) / transactions) * 1e6]),
  );
  const result = { clients: 8, seconds: options.smallMessageSeconds, tps: Number(tps), cpuMicrosPerTransaction, busyShare };
  log(`  pgbench -S: ${result.tps.toFixed(0)} tps, machine ${(busyShare * 100).toFixed(0)}% busy`);
  return result;
}

/**
 * redis-benchmark GET: 20 clients one command at a time, then 20 clients pipelining 16. GET of a
 * key that does not exist: it reads nothing and writes nothing on the machine's Redis.
 */
export async function redisGet({ instance, options }) {
  const requests = String(options.redisRequests);
  const measure = async (pipeline) => {
    const args = [
      "-h",
      "127.0.0.1",
      "-p",
      String(instance.entryPort),
      "-t",
      "get",
      "-n",
      requests,
      "-c",
      "20",
      "-P",
      String(pipeline),
      "-q",
    ];
    const { stdout } = await run(REDIS_BENCHMARK, args, { timeoutMs: 120_000 });
    // -q prints "GET: 82101.03 requests per second, p50=0.127 msec" (older builds omit the p50).
    const rps = /GET: ([\d.]+) requests per second/.exec(stdout.replace(/\r/g, "\n"))?.[1];
    if (rps === undefined) throw new Error(`redis-benchmark printed no rate:\n${stdout}`);
    return Number(rps);
  };
  const result = { clients: 20, requests: options.redisRequests, rps: await measure(1), pipelined16Rps: await measure(16) };
  log(`  redis GET: ${result.rps.toFixed(0)} rps, pipelined x16 ${result.pipelined16Rps.toFixed(0)} rps`);
  return result;
}
