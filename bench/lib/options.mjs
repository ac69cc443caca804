// Command-line flags and environment variables of the bench.
const WORKLOADS = ["throughput", "rtt", "setup", "slow", "memory", "pgbench", "redis"];
/** Issue 17's shapes (bench/lib/cluster.mjs): they need Redis and PostgreSQL, so only when asked. */
const CLUSTER_SHAPES = ["cluster-cross", "cluster-workers"];
const CONTENDERS = ["direct", "socat", "ssh", "pc-ws", "pc-ws-e2e", "pc-wss", "node-tcp", "node-tls"];

export const usage = `npm run bench [-- options]   (or: bash -c 'ulimit -n 200000 || ulimit -n hard; node bench/run.mjs [options]')

  --quick                 short run (about 3 minutes): fewer round trips, smaller counts, shorter transfers
  --only=a,b              workloads: ${WORKLOADS.join(", ")} (default: all of these);
                          cluster shapes (issue 17, need Redis on 127.0.0.1:6379 and PostgreSQL on
                          127.0.0.1:5432, or BENCH_REDIS_URL / BENCH_POSTGRES_URL; about 3 minutes,
                          2 with --quick): cluster-cross (one stream across two hubs against one hub),
                          cluster-workers (8 agent pairs through --workers 2 against --workers 1),
                          cluster (both)
                          pgbench (pgbench -S, 8 clients) and redis (redis-benchmark GET, 20 clients,
                          then pipelined x16) go through each contender to the PostgreSQL and Redis of
                          BENCH_POSTGRES_URL / BENCH_REDIS_URL (default: this machine's, on loopback)
  --contenders=a,b        ${CONTENDERS.join(", ")} (default: all)
  --profile               instead of the tables: CPU-profile the Private Connect hub and agents
                          (ws://, single-stream upload then download) and summarise self time
  --repeat=N              measure throughput on N fresh instances of every contender (default: 3 for
                          Private Connect's, 1 for the references; 1 with --quick): the report gives
                          each Private Connect contender's slowest, median and fastest start, and its
                          targets hold for the slowest
  --repo=DIR              benchmark the build of another checkout (before/after comparisons)
  --no-install            do not apt-get install socat / openssh-server when missing
  --help

Environment: BENCH_QUICK=1, BENCH_ONLY=..., BENCH_CONTENDERS=..., BENCH_PROFILE=1, BENCH_REPO=DIR, BENCH_REPEAT=N do the same;
BENCH_PC_NODE_OPTIONS="..." passes node options to the Private Connect hub and agents (A/B runs).
BENCH_REDIS_URL, BENCH_POSTGRES_URL: the cluster shapes' Redis and PostgreSQL; BENCH_CLUSTER_PROFILE_DIR=DIR:
V8 CPU profiles of their hubs in DIR/<HUB_ID>/.
Results: bench/results/latest.md and latest.json (profile: bench/results/profile.md).`;

export function parseOptions(argv = process.argv.slice(2), env = process.env) {
  const flags = new Map();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`Unknown argument ${arg}\n\n${usage}`);
    flags.set(match[1], match[2] ?? true);
  }
  for (const key of flags.keys()) {
    if (!["quick", "only", "contenders", "profile", "no-install", "repo", "repeat", "help"].includes(key))
      throw new Error(`Unknown option --${key}\n\n${usage}`);
  }
  const list = (value, allowed, what) => {
    if (!value || value === true) return [...allowed];
    const items = String(value)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const item of items)
      if (!allowed.includes(item)) throw new Error(`Unknown ${what} "${item}": use ${allowed.join(", ")}`);
    return allowed.filter((a) => items.includes(a));
  };
  const quick = flags.has("quick") || env.BENCH_QUICK === "1";
  const base = quick
    ? {
        throughputMs: 1_500,
        throughputReps: 1,
        warmupMs: 300,
        rttCount: 300,
        setupCount: 200,
        memoryCounts: [200, 1_000],
        slowMs: 3_000,
        smallMessageSeconds: 2,
        redisRequests: 50_000,
      }
    : {
        throughputMs: 2_000,
        throughputReps: 2,
        warmupMs: 1_000,
        rttCount: 2_000,
        setupCount: 1_000,
        memoryCounts: [1_000, 10_000],
        slowMs: 10_000,
        smallMessageSeconds: 4,
        redisRequests: 200_000,
      };
  return {
    help: flags.has("help"),
    quick,
    profile: flags.has("profile") || env.BENCH_PROFILE === "1",
    install: !flags.has("no-install"),
    only: parseOnly(flags.get("only") ?? env.BENCH_ONLY, list),
    contenders: list(flags.get("contenders") ?? env.BENCH_CONTENDERS, CONTENDERS, "contender"),
    openConcurrency: 200,
    /** Longest one idle-stream stage may spend opening streams. */
    memoryStageMs: 90_000,
    /** Extra node options for the Private Connect hub and agents (A/B runs, e.g. GC flags). */
    pcNodeOptions: env.BENCH_PC_NODE_OPTIONS ?? "",
    /**
     * Fresh starts per Private Connect contender for throughput (issue 22: its speed has varied
     * two- to threefold between starts, so one start proves little). An explicit --repeat
     * applies to every contender; by default the reference contenders run once.
     */
    repeat: repeatOption(flags, env, quick ? 1 : 3),
    referenceRepeat: repeatOption(flags, env, 1),
    repo: typeof flags.get("repo") === "string" ? flags.get("repo") : env.BENCH_REPO,
    /** Where the cluster shapes find Redis and PostgreSQL (a role that may create databases). */
    clusterRedisUrl: env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
    clusterPostgresUrl: env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres",
    /** BENCH_CLUSTER_PROFILE_DIR: V8 CPU profiles of the cluster shapes' hubs, in <dir>/<HUB_ID>/. */
    clusterProfileDir: env.BENCH_CLUSTER_PROFILE_DIR,
    /** Everything must end within 21 minutes; stop starting new work after this. */
    budgetMs: 20 * 60_000,
    hardLimitMs: 21 * 60_000 - 15_000,
    profileMs: 5_000,
    profileOpens: 500,
    ...base,
  };
}

function repeatOption(flags, env, fallback) {
  const given = flags.get("repeat") ?? env.BENCH_REPEAT;
  if (given === undefined) return fallback;
  return Math.max(1, Math.min(10, Number(given) || 1));
}

/** --only: the workloads and cluster shapes named ("cluster" is both shapes); default every workload. */
function parseOnly(value, list) {
  if (!value || value === true) return [...WORKLOADS];
  const named = String(value)
    .split(",")
    .map((s) => s.trim())
    .flatMap((s) => (s === "cluster" ? CLUSTER_SHAPES : [s]));
  return list(named.join(","), [...WORKLOADS, ...CLUSTER_SHAPES], "workload");
}
