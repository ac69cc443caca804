// A real HAProxy (Debian's, installed by .ci/run when missing) in front of several hubs, as a
// self-hoster would run it: TCP mode, round robin, health checks on /readyz so a dead hub leaves
// the rotation within about a second, and tunnel timeouts long enough for relay WebSockets.
// Started in the foreground (-db) as a child process; closeHaproxies() (and process exit) end it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { findFreePort, LOOPBACK, waitFor } from "./net.ts";
import { makeTempDir } from "./processes.ts";

export interface HaproxyBackend {
  /** The server's name in the config and in `show stat` (e.g. the hub's HUB_ID). */
  name: string;
  port: number;
}

export interface StartHaproxyOptions {
  backends: HaproxyBackend[];
  mode?: "tcp";
  /** Resolve only once every backend passed its health check (default true). */
  waitForBackends?: boolean;
}

/** A server's state as HAProxy's stats report it: UP, DOWN, "UP 1/2", MAINT, no check... */
export type ServerStatus = string;

export interface Haproxy {
  port: number;
  /** http://127.0.0.1:PORT of the frontend: what agents are given as --hub. */
  url: string;
  configPath: string;
  process: ChildProcess;
  /** Each backend server's status, from the admin socket's `show stat`. */
  serverStatuses(): Promise<Map<string, ServerStatus>>;
  /** Waits (bounded) until the named server's status starts with `status` ("UP" or "DOWN"). */
  waitForServer(name: string, status: "UP" | "DOWN", timeoutMs?: number): Promise<void>;
  logs(): string;
  close(): Promise<void>;
}

const LOG_LIMIT = 256 * 1024;
const running = new Set<Haproxy>();

process.once("exit", () => {
  for (const proxy of running) proxy.process.kill("SIGKILL");
});

/** The haproxy binary on PATH or in /usr/sbin, or null (tests then say they cannot run). */
export function findHaproxy(): string | null {
  for (const candidate of ["haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]) {
    try {
      execFileSync(candidate, ["-v"], { stdio: "ignore", timeout: 5_000 });
      return candidate;
    } catch {}
  }
  return null;
}

function renderConfig(frontendPort: number, adminSocket: string, backends: HaproxyBackend[]): string {
  const servers = backends.map((backend) => `  server ${backend.name} ${LOOPBACK}:${backend.port} check`);
  return [
    "global",
    `  stats socket ${adminSocket} mode 600 level admin`,
    "  maxconn 4000",
    "",
    "defaults",
    "  mode tcp",
    "  timeout connect 2s",
    // Relay connections live for hours and are quiet between heartbeats: never cut them idle.
    "  timeout client 1h",
    "  timeout server 1h",
    "  timeout tunnel 1h",
    "  timeout check 1s",
    // A hub that died since the last check refuses the connection: try another one instead.
    "  retries 3",
    "  option redispatch 1",
    "",
    "frontend hubs_in",
    `  bind ${LOOPBACK}:${frontendPort}`,
    "  default_backend hubs",
    "",
    "backend hubs",
    "  balance roundrobin",
    "  option httpchk GET /readyz",
    "  http-check expect status 200",
    // Two failed checks 300 ms apart take a hub out; one good one brings it back.
    "  default-server inter 300ms fall 2 rise 1",
    ...servers,
    "",
  ].join("\n");
}

/** Sends one command to HAProxy's admin socket and returns its whole answer. */
function adminCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`haproxy admin socket: no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(`${command}\n`);
  });
}

/** `show stat` CSV: the status column of each server of backend "hubs". */
function parseServerStatuses(csv: string): Map<string, ServerStatus> {
  const lines = csv.split("\n").filter((line) => line.trim() !== "");
  const header = lines[0]?.replace(/^# /, "").split(",") ?? [];
  const proxyColumn = header.indexOf("pxname");
  const serverColumn = header.indexOf("svname");
  const statusColumn = header.indexOf("status");
  const statuses = new Map<string, ServerStatus>();
  for (const line of lines.slice(1)) {
    const fields = line.split(",");
    const server = fields[serverColumn];
    if (fields[proxyColumn] !== "hubs" || !server || server === "BACKEND" || server === "FRONTEND") continue;
    statuses.set(server, fields[statusColumn] ?? "");
  }
  return statuses;
}

export async function startHaproxy(options: StartHaproxyOptions): Promise<Haproxy> {
  const binary = findHaproxy();
  if (!binary) throw new Error("haproxy is not installed: run .ci/run, or apt-get install -y haproxy");
  if (options.backends.length === 0) throw new Error("startHaproxy needs at least one backend");
  const dir = await makeTempDir("haproxy");
  const adminSocket = join(dir, "admin.sock");
  const configPath = join(dir, "haproxy.cfg");
  const port = await findFreePort();
  await writeFile(configPath, renderConfig(port, adminSocket, options.backends));
  // Checked first so that a config error reads as one, not as "haproxy exited".
  try {
    execFileSync(binary, ["-c", "-q", "-f", configPath], { stdio: "pipe", timeout: 10_000 });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`haproxy rejects its config ${configPath}: ${stderr}`);
  }
  const child = spawn(binary, ["-f", configPath, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const append = (chunk: string) => {
    if (output.length < LOG_LIMIT) output += chunk;
  };
  child.stdout?.setEncoding("utf8").on("data", append);
  child.stderr?.setEncoding("utf8").on("data", append);

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const proxy: Haproxy = {
    port,
    url: `http://${LOOPBACK}:${port}`,
    configPath,
    process: child,
    serverStatuses: async () => parseServerStatuses(await adminCommand(adminSocket, "show stat")),
    async waitForServer(name, status, timeoutMs = 10_000) {
      let last = new Map<string, ServerStatus>();
      try {
        await waitFor(
          async () => {
            last = await proxy.serverStatuses();
            return last.get(name)?.startsWith(status);
          },
          { timeoutMs, intervalMs: 100, what: `haproxy to see ${name} ${status}` },
        );
      } catch (error) {
        throw new Error(`${String(error)}; last statuses: ${JSON.stringify(Object.fromEntries(last))}`);
      }
    },
    logs: () => output,
    async close() {
      running.delete(proxy);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const stopped = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5_000)),
      ]);
      if (!stopped) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
  running.add(proxy);

  try {
    await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`haproxy exited: ${output}`);
        return new Promise<boolean>((resolve) => {
          const probe = net.connect({ host: LOOPBACK, port }, () => {
            probe.destroy();
            resolve(true);
          });
          probe.once("error", () => resolve(false));
        });
      },
      { timeoutMs: 10_000, intervalMs: 50, what: `haproxy to listen on ${LOOPBACK}:${port}` },
    );
    if (options.waitForBackends !== false) {
      for (const backend of options.backends) await proxy.waitForServer(backend.name, "UP");
    }
  } catch (error) {
    await proxy.close();
    throw new Error(`${String(error)}\n----- haproxy output -----\n${output}`);
  }
  return proxy;
}

/** Stops every HAProxy started here (for a test file's afterAll). */
export async function closeHaproxies(): Promise<void> {
  await Promise.all([...running].map((proxy) => proxy.close()));
}
