// Small helpers: running commands with a deadline, free ports, waiting, installing tools.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function log(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Runs a command to completion; rejects with its output on failure or after timeoutMs. */
export function run(file, args, { env, timeoutMs = 60_000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: env ?? process.env, timeout: timeoutMs, cwd, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) {
        error.message = `${file} ${args.join(" ")}: ${error.message}\n${stdout}\n${stderr}`.trim();
        reject(error);
      } else resolve({ stdout, stderr });
    });
  });
}

/** Spawns a long-running process, keeping the tail of its output for error messages. */
export function spawnService(file, args, { env, cwd } = {}) {
  const child = spawn(file, args, { env: env ?? process.env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  const tail = [];
  const listeners = new Set();
  const onLine = (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    for (const listener of listeners) listener(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (text) => {
      const lines = (partial + text).split("\n");
      partial = lines.pop();
      for (const line of lines) onLine(line);
    });
  }
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return {
    child,
    pid: child.pid,
    tail: () => tail.join("\n"),
    exited,
    /** Resolves with the first line matching `test`; rejects on exit or timeout. */
    waitForLine(test, timeoutMs) {
      for (const line of tail) if (test(line)) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`timed out; output:\n${tail.join("\n")}`));
        }, timeoutMs);
        const listener = (line) => {
          if (!test(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
        exited.then(({ code, signal }) => {
          clearTimeout(timer);
          listeners.delete(listener);
          reject(new Error(`exited (${code ?? signal}); output:\n${tail.join("\n")}`));
        });
      });
    },
    /** SIGTERM this process (by its pid), SIGKILL it if still alive after graceMs. */
    async stop(graceMs = 8_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` (async, truthy when done) every intervalMs until timeoutMs. */
export async function waitFor(check, { timeoutMs = 15_000, intervalMs = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError.message}` : ""}`);
}

export function makeTempDir(prefix) {
  // Short paths: agent control sockets live in the config directory (108-byte limit).
  return mkdtemp(join(tmpdir(), prefix));
}

function hasCommand(path) {
  return existsSync(path);
}

/**
 * socat, sshd, pgbench and redis-benchmark come from Debian packages; install them when missing (apt-get, bounded),
 * and say so. Returns which tools are usable and any note for the report.
 */
export async function ensureTools() {
  const needed = {
    socat: ["/usr/bin/socat", "socat"],
    sshd: ["/usr/sbin/sshd", "openssh-server"],
    ssh: ["/usr/bin/ssh", "openssh-client"],
    "ssh-keygen": ["/usr/bin/ssh-keygen", "openssh-client"],
    openssl: ["/usr/bin/openssl", "openssl"],
    // The small-message workloads' clients (issue 20).
    pgbench: ["/usr/bin/pgbench", "postgresql-client"],
    psql: ["/usr/bin/psql", "postgresql-client"],
    "redis-benchmark": ["/usr/bin/redis-benchmark", "redis-tools"],
  };
  const missing = Object.entries(needed).filter(([, [path]]) => !hasCommand(path));
  const notes = [];
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, [, pkg]]) => pkg))];
    log(`missing ${missing.map(([name]) => name).join(", ")}: installing ${packages.join(" ")} with apt-get`);
    notes.push(`installed from apt: ${packages.join(", ")}`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
      await run("apt-get", ["update", "-qq"], { env, timeoutMs: 180_000 });
      await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { env, timeoutMs: 300_000 });
      log(`installed ${packages.join(" ")}`);
    } catch (error) {
      log(`could not install ${packages.join(" ")}: ${error.message.split("\n")[0]}`);
      notes.push(`apt-get failed: ${error.message.split("\n")[0]}`);
    }
  }
  const available = Object.fromEntries(Object.entries(needed).map(([name, [path]]) => [name, hasCommand(path)]));
  return { available, notes };
}
