// `npm start` stopped the way a supervisor stops it: a signal to npm's own pid, not Ctrl-C in a
// terminal (which reaches the whole process group). Whatever ends npm, the launcher, the hub and
// the dashboard it started must all end too, not linger as orphans holding the ports.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/net.ts";
import { makeTempDir, REPO_ROOT } from "../support/processes.ts";

const started: ChildProcess[] = [];
const leftovers = new Set<number>();

afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  for (const pid of leftovers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
});

/** Every live process below `root`, read from /proc (Linux). */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(join("/proc", entry, "stat"), "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

function isAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8");
    return state.slice(state.lastIndexOf(")") + 2, state.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** `npm start` as a user runs it (without its build: the suite has built), until both URLs print. */
async function startWithNpm(): Promise<{ npm: ChildProcess; output: () => string }> {
  const dataDir = join(await makeTempDir("start-signals"), "data");
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const isOurs = key.startsWith("VITEST") || key.startsWith("CONNECT_") || key.startsWith("npm_");
    if (isOurs || ["DATABASE_URL", "NODE_OPTIONS", "NODE_ENV", "SMTP_URL", "FRONT_END_SECRET"].includes(key)) continue;
    env[key] = value;
  }
  const npm = spawn("npm", ["start", "--", "--no-build", "--port", "0", "--dashboard-port", "0", "--data", dataDir], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(npm);
  let output = "";
  npm.stdout?.setEncoding("utf8").on("data", (text: string) => {
    output += text;
  });
  npm.stderr?.setEncoding("utf8").on("data", (text: string) => {
    output += text;
  });
  await waitFor(() => output.includes("Private Connect is running"), {
    timeoutMs: 90_000,
    what: `npm start to print its URLs (output so far:\n${output})`,
  });
  return { npm, output: () => output };
}

describe.runIf(process.platform === "linux")("npm start stopped through npm's pid", () => {
  it.concurrent.each([
    ["SIGTERM", "a supervisor's stop, which npm passes on"],
    ["SIGINT", "an interrupt sent to npm alone"],
    ["SIGKILL", "npm killed outright, which passes nothing on"],
  ] as const)("%s (%s) ends npm, the launcher, the hub and the dashboard", { timeout: 150_000 }, async (signal, _why) => {
    const { npm, output } = await startWithNpm();
    const pid = npm.pid ?? 0;
    const below = descendantsOf(pid);
    for (const child of below) leftovers.add(child);
    // The launcher, the hub, the dashboard's server (and whatever those run) are all there.
    expect(below.length, `processes below npm:\n${output()}`).toBeGreaterThanOrEqual(3);

    process.kill(pid, signal);

    await waitFor(() => below.every((child) => !isAlive(child)) || undefined, {
      timeoutMs: 30_000,
      what: `every process npm start ran to exit after ${signal} to npm (alive: ${below.filter(isAlive).join(", ")})`,
    });
    expect(below.filter(isAlive)).toEqual([]);
    if (signal === "SIGKILL") expect(output()).toContain("npm start's parent process went away");
  });
});
