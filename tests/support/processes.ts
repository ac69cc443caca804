// Runs the real built CLIs (`connect-hub`, `connect`) as child processes, each test run in its
// own temp dir, and tears every process down at the end, failing test or not.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const HUB_BIN = join(REPO_ROOT, "apps", "hub", "bin", "connect-hub.js");
export const AGENT_BIN = join(REPO_ROOT, "apps", "agent", "bin", "run.js");

/** Default bound for one CLI command (not the long-running hub). */
const COMMAND_TIMEOUT_MS = 30_000;
/** After a CLI exits, how long its stdout/stderr may stay open (a detached child holding them). */
const STDIO_GRACE_MS = 1_000;
const LOG_LIMIT = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Registry of everything started here, so one teardown can end it all.

const children = new Set<ChildProcess>();
const agentConfigDirs = new Set<string>();
const tempDirs = new Set<string>();
const logSources = new Map<string, () => string>();

function registerChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid the detached agent wrote into its config directory, if any. */
export function readAgentPid(configDir: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(join(configDir, "agent.pid"), "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

// Last resort when the worker dies: kill synchronously whatever is still ours.
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of agentConfigDirs) {
    const pid = readAgentPid(dir);
    if (pid && isAlive(pid)) process.kill(pid, "SIGKILL");
  }
  if (!process.env.PC_KEEP_TMP) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp dir, removed by cleanupAll() (kept when PC_KEEP_TMP is set). */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `pc-e2e-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function waitForPidExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/** Stops agents (connect down, then SIGKILL), hubs and other children; removes temp dirs. */
export async function cleanupAll(): Promise<void> {
  await Promise.all(
    [...agentConfigDirs].map(async (configDir) => {
      const pid = readAgentPid(configDir);
      if (pid && isAlive(pid)) {
        await runAgentCli(["down"], { configDir, timeoutMs: 10_000 }).catch(() => {});
        if (!(await waitForPidExit(pid, 5_000))) process.kill(pid, "SIGKILL");
      }
      agentConfigDirs.delete(configDir);
    }),
  );
  await Promise.all(
    [...children].map(async (child) => {
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 5_000))) {
        child.kill("SIGKILL");
        await waitForExit(child, 5_000);
      }
    }),
  );
  logSources.clear();
  if (!process.env.PC_KEEP_TMP) {
    await Promise.all([...tempDirs].map((dir) => rm(dir, { recursive: true, force: true })));
  }
  tempDirs.clear();
}

/** The tail of every log these helpers know of, for a failing test's report. */
export function collectLogs(maxPerSource = 8_000): string {
  const parts: string[] = [];
  for (const [name, read] of logSources) {
    const text = read();
    if (text) parts.push(`----- ${name} -----\n${text.slice(-maxPerSource)}`);
  }
  for (const dir of agentConfigDirs) {
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith(".log"));
    } catch {}
    for (const file of files) {
      try {
        const text = readFileSync(join(dir, file), "utf8");
        parts.push(`----- ${join(dir, file)} -----\n${text.slice(-maxPerSource)}`);
      } catch {}
    }
  }
  return parts.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Environment: children never see the developer's own agent home, DATABASE_URL or test-runner vars.

const CLUSTER_VARIABLES = new Set([
  "REDIS_URL",
  "REDIS_KEY_PREFIX",
  "HUB_ID",
  "HUB_PEER_URL",
  "CLUSTER_SECRET",
  "HUB_PEER_CONNECTIONS",
]);

function childEnv(extra: Record<string, string | undefined>, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("CONNECT_") || key.startsWith("VITEST") || key === "DATABASE_URL" || key === "NODE_OPTIONS") continue;
    if (key === "PC_TEST_POSTGRES" || key === "TEST" || key === "NODE_ENV") continue;
    // A developer's own cluster settings would quietly make every single-hub test a cluster one;
    // the cluster tests pass theirs explicitly.
    if (CLUSTER_VARIABLES.has(key)) continue;
    env[key] = value;
  }
  env.HOME = home;
  env.NO_COLOR = "1";
  env.FORCE_COLOR = "0";
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function requireBin(bin: string): void {
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run \`npm run build\` at the repository root first`);
}

// ---------------------------------------------------------------------------------------------
// One-shot commands.

export interface CommandResult {
  /** Exit code; null when the process was killed (see `timedOut`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when stdout/stderr stayed open after the process exited (a detached child kept them). */
  stdioHeld: boolean;
  ms: number;
  command: string;
}

interface RunOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  cwd?: string;
  home?: string;
}

function runNode(bin: string, args: string[], options: RunOptions): Promise<CommandResult> {
  requireBin(bin);
  const timeoutMs = options.timeoutMs ?? COMMAND_TIMEOUT_MS;
  const started = Date.now();
  const command = `${bin === HUB_BIN ? "connect-hub" : "connect"} ${args.join(" ")}`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: childEnv(options.env ?? {}, options.home ?? tmpdir()),
      stdio: ["ignore", "pipe", "pipe"],
    });
    registerChild(child);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      if (stdout.length < LOG_LIMIT) stdout += s;
    });
    child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      if (stderr.length < LOG_LIMIT) stderr += s;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // Resolve on exit, not on 'close': a detached daemon that inherited our pipes would otherwise
    // make a `--detach` command look like it never returns.
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      const streams = [child.stdout, child.stderr].filter((s) => s !== null);
      const allClosed = () => streams.every((s) => s.closed || s.destroyed);
      const finish = (stdioHeld: boolean) => {
        for (const s of streams) s.destroy();
        resolvePromise({ code, signal, stdout, stderr, timedOut, stdioHeld, ms: Date.now() - started, command });
      };
      if (allClosed()) {
        finish(false);
        return;
      }
      const grace = setTimeout(() => finish(!allClosed()), STDIO_GRACE_MS);
      let pending = streams.filter((s) => !(s.closed || s.destroyed)).length;
      for (const s of streams) {
        if (s.closed || s.destroyed) continue;
        s.once("close", () => {
          pending -= 1;
          if (pending === 0) {
            clearTimeout(grace);
            finish(false);
          }
        });
      }
    });
  });
}

/** Throws with the full output unless the command exited 0. */
export function expectSuccess(result: CommandResult): CommandResult {
  if (result.code !== 0) {
    throw new Error(
      `\`${result.command}\` exited ${result.code ?? result.signal}${result.timedOut ? " (timed out)" : ""}\n` +
        `stdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
  return result;
}

/** Parses the last JSON value a command printed on stdout (ignoring log lines before it). */
export function parseJsonOutput<T = unknown>(result: CommandResult): T {
  const text = result.stdout.trim();
  try {
    return JSON.parse(text) as T;
  } catch {}
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const candidate = lines.slice(i).join("\n");
    try {
      return JSON.parse(candidate) as T;
    } catch {}
  }
  throw new Error(`\`${result.command}\` printed no JSON on stdout:\n${result.stdout}\nstderr: ${result.stderr}`);
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");

/** stderr's non-empty lines, without colour codes. */
export function errorLines(result: CommandResult): string[] {
  return result.stderr
    .replace(ANSI, "")
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== "");
}

// ---------------------------------------------------------------------------------------------
// Hub.

export interface Hub {
  url: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  process: ChildProcess;
  logs(): string;
  /** SIGTERM, then wait for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export interface StartHubOptions {
  databaseUrl?: string;
  /** A fixed port, for a hub restarted where its agents expect it; default: any free port. */
  port?: number;
  dataDir?: string;
  env?: Record<string, string | undefined>;
  readyTimeoutMs?: number;
  /** More `connect-hub start` flags, such as ["--workers", "2"]. */
  extraArgs?: string[];
}

let hubCount = 0;

export async function startHub(options: StartHubOptions = {}): Promise<Hub> {
  requireBin(HUB_BIN);
  const dataDir = options.dataDir ?? join(await makeTempDir("hub"), "data");
  const home = await makeTempDir("hub-home");
  const args = [
    "start",
    "--port",
    String(options.port ?? 0),
    "--host",
    "127.0.0.1",
    "--data",
    dataDir,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, [HUB_BIN, ...args], {
    cwd: REPO_ROOT,
    env: childEnv({ ...options.env, DATABASE_URL: options.databaseUrl }, home),
    stdio: ["ignore", "pipe", "pipe"],
  });
  registerChild(child);
  hubCount += 1;
  let output = "";
  const append = (s: string) => {
    if (output.length < LOG_LIMIT) output += s;
  };
  logSources.set(`hub #${hubCount} (pid ${child.pid}, ${options.databaseUrl ? "PostgreSQL" : "PGlite"})`, () => output);

  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const url = await new Promise<string>((resolveUrl, reject) => {
    let pending = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`connect-hub ${args.join(" ")}: ${why}\n----- hub output -----\n${output.slice(-8000)}`));
    };
    const timer = setTimeout(() => fail(`no "hub listening" line within ${readyTimeoutMs} ms`), readyTimeoutMs);
    child.stderr?.setEncoding("utf8").on("data", append);
    child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      append(s);
      pending += s;
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
        let record: { msg?: unknown; url?: unknown };
        try {
          record = JSON.parse(line);
        } catch {
          continue;
        }
        if (record.msg === "hub listening" && typeof record.url === "string") {
          clearTimeout(timer);
          resolveUrl(record.url);
          return;
        }
      }
    });
    child.once("exit", (code, signal) => fail(`exited (${code ?? signal}) before it was listening`));
    child.once("error", (error) => fail(`could not start: ${error.message}`));
  });
  // Ready: from here on an exit is the test's business, not a start failure.
  child.removeAllListeners("exit");
  child.once("exit", () => children.delete(child));

  const port = Number(new URL(url).port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`hub printed an unusable url: ${url}`);
  return {
    url,
    port,
    dataDir,
    databaseUrl: options.databaseUrl,
    process: child,
    logs: () => output,
    async stop() {
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 10_000))) {
        child.kill("SIGKILL");
        await waitForExit(child, 5_000);
      }
    },
    async kill() {
      child.kill("SIGKILL");
      await waitForExit(child, 5_000);
    },
  };
}

/** `connect-hub ARGS --data <hub's dir>` with the hub's DATABASE_URL. */
export function runHubCli(hub: Hub, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
  return runNode(HUB_BIN, [...args, "--data", hub.dataDir], {
    env: { DATABASE_URL: hub.databaseUrl },
    timeoutMs,
  });
}

/** `connect-hub ARGS` as typed: no --data or DATABASE_URL added, in `cwd` (default: the repository). */
export function runHubCommand(args: string[], options: Omit<RunOptions, "home"> = {}): Promise<CommandResult> {
  return runNode(HUB_BIN, args, options);
}

export interface CreatedWorkspace {
  workspace: { id: string; name: string; slug: string };
  apiKey: string;
}

export async function createWorkspace(hub: Hub, name: string, ownerEmail: string): Promise<CreatedWorkspace> {
  const result = expectSuccess(await runHubCli(hub, ["workspace", "create", name, "--owner", ownerEmail, "--json"], 60_000));
  const created = parseJsonOutput<CreatedWorkspace>(result);
  if (!created?.workspace?.id || typeof created.apiKey !== "string" || !created.apiKey.startsWith("pc_")) {
    throw new Error(`\`${result.command}\` printed an unexpected shape: ${result.stdout}`);
  }
  return created;
}

// ---------------------------------------------------------------------------------------------
// Agent.

export interface ConnectOptions {
  /** The agent's config directory; passed as `--config DIR` and as CONNECT_HOME. */
  configDir?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Set false to pass the directory only through CONNECT_HOME (no `--config` flag). */
  configFlag?: boolean;
}

function runAgentCli(args: string[], options: ConnectOptions): Promise<CommandResult> {
  const flagArgs = options.configDir && options.configFlag !== false ? ["--config", options.configDir] : [];
  return runNode(AGENT_BIN, [...args, ...flagArgs], {
    env: { ...(options.configDir ? { CONNECT_HOME: options.configDir } : {}), ...options.env },
    timeoutMs: options.timeoutMs,
    home: options.configDir ? dirname(options.configDir) : undefined,
  });
}

/** Runs `connect ARGS` with this config directory; resolves whatever the exit code. */
export function connect(args: string[], options: ConnectOptions = {}): Promise<CommandResult> {
  if (options.configDir) agentConfigDirs.add(options.configDir);
  return runAgentCli(args, options);
}

export interface Agent {
  label: string;
  configDir: string;
  /** The result of `connect up --detach`. */
  up: CommandResult;
  run(args: string[], options?: Omit<ConnectOptions, "configDir">): Promise<CommandResult>;
  /** The detached agent's pid, from `agent.pid` in its config directory. */
  pid(): number | null;
  down(): Promise<CommandResult>;
}

export interface StartAgentOptions {
  hub: Hub | { url: string };
  apiKey: string;
  label: string;
  configDir?: string;
  env?: Record<string, string | undefined>;
}

/** `connect up --detach`, which must return once the agent is connected; throws otherwise. */
export async function startAgent(options: StartAgentOptions): Promise<Agent> {
  const configDir = options.configDir ?? join(await makeTempDir(`agent-${options.label}`), "config");
  const up = expectSuccess(
    await connect(["up", "--hub", options.hub.url, "--api-key", options.apiKey, "--label", options.label, "--detach"], {
      configDir,
      env: options.env,
      timeoutMs: 60_000,
    }),
  );
  return {
    label: options.label,
    configDir,
    up,
    run: (args, runOptions = {}) => connect(args, { ...runOptions, configDir, env: { ...options.env, ...runOptions.env } }),
    pid: () => readAgentPid(configDir),
    async down() {
      const pid = readAgentPid(configDir);
      const result = await connect(["down"], { configDir, env: options.env });
      if (pid) await waitForPidExit(pid, 10_000);
      return result;
    },
  };
}

/** Resident memory of a process in bytes (Linux /proc), or null if it is gone. */
export async function residentBytes(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export { isAlive, waitForExit, waitForPidExit };
