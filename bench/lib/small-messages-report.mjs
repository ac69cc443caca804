// The small-message section of the report and its targets (issue 20): pgbench -S and
// redis-benchmark GET through each contender, as ratios to the SSH tunnel and to direct TCP.
import { fmt, table } from "./format.mjs";

const count = (value) => fmt(value, 0);

const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
const times = (value) => (value === undefined ? "–" : `${value.toFixed(2)}x`);

/** The three figures a contender has, or undefined ones where it failed or did not run. */
function figures(result) {
  return { tps: result?.pgbench?.tps, rps: result?.redis?.rps, pipelined: result?.redis?.pipelined16Rps };
}

export function smallMessageLines(doc) {
  const only = doc.options.only;
  if (!only.includes("pgbench") && !only.includes("redis")) return [];
  const names = Object.keys(doc.contenders).filter((name) => {
    const result = doc.contenders[name];
    return result.workloads?.some((w) => w === "pgbench" || w === "redis") ?? false;
  });
  if (names.length === 0) return [];
  const ssh = figures(doc.contenders.ssh);
  const direct = figures(doc.contenders.direct);
  const headers = [
    "contender",
    "pgbench -S tps",
    "vs SSH",
    "vs direct",
    "redis GET rps",
    "vs SSH",
    "redis GET pipelined x16 rps",
    "vs SSH",
    "vs direct",
  ];
  const rows = [];
  for (const name of names) {
    const result = doc.contenders[name];
    const own = figures(result);
    rows.push([
      result.title,
      count(own.tps),
      times(ratio(own.tps, ssh.tps)),
      times(ratio(own.tps, direct.tps)),
      count(own.rps),
      times(ratio(own.rps, ssh.rps)),
      count(own.pipelined),
      times(ratio(own.pipelined, ssh.pipelined)),
      times(ratio(own.pipelined, direct.pipelined)),
    ]);
    const why = result.error ?? result.errors?.pgbench ?? result.errors?.redis;
    if (why !== undefined) rows.push(["", String(why).split("\n")[0].slice(0, 160), ...headers.slice(2).map(() => "")]);
  }
  const out = [
    `## 8. Small messages (issue 20): pgbench -S (8 clients, ${doc.options.smallMessageSeconds} s) and redis-benchmark GET (20 clients, ${doc.options.redisRequests} requests) through each contender to this machine's PostgreSQL and Redis`,
    "",
    table(headers, rows),
    "",
  ];
  const cpuRows = names
    .map((name) => [doc.contenders[name], doc.contenders[name].pgbench])
    .filter(([, pgbench]) => pgbench?.cpuMicrosPerTransaction !== undefined)
    .map(([result, pgbench]) => {
      const perRole = Object.entries(pgbench.cpuMicrosPerTransaction);
      const relay = perRole.reduce((sum, [, micros]) => sum + micros, 0);
      const roles = perRole.map(([role, micros]) => `${result.labels?.[role] ?? role} ${micros.toFixed(1)}`).join(", ");
      return [
        result.title,
        perRole.length === 0 ? "-" : relay.toFixed(1),
        roles || "-",
        `${(pgbench.busyShare * 100).toFixed(0)}%`,
      ];
    });
  if (cpuRows.length > 0) {
    out.push(
      "During pgbench: the CPU each transaction cost the contender's own processes (us), and how busy the whole machine was (all cores). Well under 100% busy, the round trips wait on wake-ups and hops rather than on CPU.",
      "",
      table(["contender", "relay CPU per transaction, us", "per process, us", "machine busy"], cpuRows),
      "",
    );
  }
  return out;
}

/** Issue 20's small-message targets, for the plaintext relay over ws://. */
export function smallMessageTargets(doc) {
  const only = doc.options.only;
  const pc = doc.contenders["pc-ws"];
  if (pc === undefined) return [];
  const own = figures(pc);
  const ssh = figures(doc.contenders.ssh);
  const direct = figures(doc.contenders.direct);
  const targets = [];
  const check = (name, mine, theirs, bound, unit, against) => {
    const value = ratio(mine, theirs);
    if (value === undefined) {
      targets.push({
        name,
        pass: undefined,
        detail: `not measured (${mine === undefined ? "pc-ws failed or did not run" : `${against} not in this run or failed`})`,
      });
      return;
    }
    targets.push({
      name,
      pass: value >= bound,
      ratio: value,
      detail: `${count(mine)} vs ${count(theirs)} ${unit} = ${value.toFixed(2)}x`,
    });
  };
  if (only.includes("pgbench")) {
    check("pc-ws pgbench -S >= 1.5x SSH", own.tps, ssh.tps, 1.5, "tps", "SSH");
    check("pc-ws pgbench -S >= 0.3x direct", own.tps, direct.tps, 0.3, "tps", "direct TCP");
  }
  if (only.includes("redis")) check("pc-ws redis GET pipelined x16 >= 1.2x SSH", own.pipelined, ssh.pipelined, 1.2, "rps", "SSH");
  return targets;
}
