// Issue 20's bulk and round-trip targets, stricter than issue 8's: ws:// at least 1.05x the SSH
// tunnel for one stream each way, wss:// at least 0.95x the Node TLS pipe of the same run (the
// floor Node's TLS sets), and at most 1 ms (ws://) / 1.5 ms (wss://) added to the p99 round trip
// of a 64-byte ping beside a bulk stream. Throughput counts the slowest fresh start (issue 22).
import { startSpread } from "./workloads.mjs";

const DIRECTIONS = [
  ["up1", "upload"],
  ["down1", "download"],
];

const fixed = (value, digits = 1) => value.toFixed(digits);

/** One target per direction: the contender's slowest start over the reference's mean. */
function throughputTargets(doc, { contender, reference, bound, what, alsoSsh }) {
  const mine = doc.contenders[contender]?.throughput;
  if (mine === undefined) return [];
  const theirs = doc.contenders[reference]?.throughput;
  const ssh = doc.contenders.ssh?.throughput;
  return DIRECTIONS.map(([key, label]) => {
    const name = `${contender} single-stream ${label} >= ${bound}x ${what} (issue 20)`;
    if (!mine[key] || !theirs?.[key])
      return { name, pass: undefined, detail: `not measured (${what} not in this run or failed)` };
    const spread = startSpread(mine[key]);
    const ratio = spread.min / theirs[key].mbps;
    const which = spread.count > 1 ? `slowest of ${spread.count} starts ` : "";
    const besideSsh = alsoSsh && ssh?.[key] ? `; ${fixed(spread.min / ssh[key].mbps, 2)}x SSH` : "";
    return {
      name,
      pass: ratio >= bound,
      ratio,
      detail: `${which}${fixed(spread.min)} vs ${fixed(theirs[key].mbps)} MB/s = ${fixed(ratio, 2)}x${besideSsh}`,
    };
  });
}

function roundTripTarget(doc, contender, boundMs) {
  const mine = doc.contenders[contender]?.rtt;
  if (mine === undefined) return [];
  const base = doc.contenders.direct?.rtt;
  const name = `${contender} p99 added RTT beside a bulk stream <= ${boundMs} ms (issue 20)`;
  if (!base) return [{ name, pass: undefined, detail: "not measured (direct TCP not in this run)" }];
  const up = mine.loaded.upload.p99 - base.loaded.upload.p99;
  const down = mine.loaded.download.p99 - base.loaded.download.p99;
  const worst = Math.max(up, down);
  const signed = (value) => `${value >= 0 ? "+" : ""}${fixed(value, 3)}`;
  return [
    {
      name,
      pass: worst <= boundMs,
      value: worst,
      detail: `bulk up ${signed(up)} ms, bulk down ${signed(down)} ms (worst counts)`,
    },
  ];
}

export function relaySpeedTargets(doc) {
  const only = doc.options.only;
  const targets = [];
  if (only.includes("throughput")) {
    targets.push(...throughputTargets(doc, { contender: "pc-ws", reference: "ssh", bound: 1.05, what: "SSH" }));
    targets.push(
      ...throughputTargets(doc, {
        contender: "pc-wss",
        reference: "node-tls",
        bound: 0.95,
        what: "the Node TLS pipe",
        alsoSsh: true,
      }),
    );
  }
  if (only.includes("rtt")) {
    targets.push(...roundTripTarget(doc, "pc-ws", 1));
    targets.push(...roundTripTarget(doc, "pc-wss", 1.5));
  }
  return targets;
}
