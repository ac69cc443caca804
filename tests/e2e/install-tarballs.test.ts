// Install without the repository: `npm run pack`'s two tarballs installed with
// `npm install -g --prefix`, from a folder outside the repository with NODE_PATH unset, then used
// as a person on another machine would: the hub and its dashboard from one prefix, a workspace
// made with its CLI, two agents from the other prefix, a reach whose bytes round-trip. The
// installed trees must not name the repository anywhere, and the agent's must hold no server
// code. Third-party dependencies come from the npm registry (the cache is usually warm).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort, LOOPBACK, roundTrip, startEchoServer, waitFor } from "../support/net.ts";
import { makeTempDir, REPO_ROOT, readAgentPid, waitForPidExit } from "../support/processes.ts";

const run = promisify(execFile);

/** Packed, the agent is about 0.1 MB today; ten times that means something big got bundled. */
const AGENT_TARBALL_MAX_BYTES = 1024 * 1024;

/** What a laptop running `connect` must never receive, bundled or from the registry. */
const SERVER_ONLY = [
  "@private-connect/hub",
  "@private-connect/api",
  "@private-connect/db",
  "@private-connect/web",
  "prisma",
  "@prisma/client",
  "@prisma/adapter-pg",
  "@electric-sql/pglite",
  "pglite-prisma-adapter",
  "pg",
  "next",
];

const version = (dir: string) =>
  (JSON.parse(readFileSync(join(REPO_ROOT, dir, "package.json"), "utf8")) as { version: string }).version;
const AGENT_VERSION = version("apps/agent");
const HUB_VERSION = version("apps/hub");
const PACKAGES_DIR = join(REPO_ROOT, "dist-packages");
const agentTarball = join(PACKAGES_DIR, `private-connect-agent-${AGENT_VERSION}.tgz`);
const hubTarball = join(PACKAGES_DIR, `private-connect-hub-${HUB_VERSION}.tgz`);

/** The newest modification time of any file under these paths (missing ones count as now). */
function newestMtime(paths: string[]): number {
  let newest = 0;
  const visit = (path: string) => {
    if (!existsSync(path)) {
      newest = Date.now();
      return;
    }
    const stat = statSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const path of paths) visit(path);
  return newest;
}

/**
 * Reuses tarballs an earlier `npm run pack` of this run made, when they are newer than every
 * build output they were made from; packs otherwise.
 */
async function ensureTarballs(): Promise<"packed" | "reused"> {
  const builds = ["apps/agent/dist", "apps/hub/dist", "apps/hub/bin", "apps/web/.next/BUILD_ID", "scripts/pack.mjs"].map((path) =>
    join(REPO_ROOT, path),
  );
  for (const name of readdirSync(join(REPO_ROOT, "packages"))) builds.push(join(REPO_ROOT, "packages", name, "dist"));
  const built = newestMtime(builds);
  const isFresh = (file: string) => existsSync(file) && statSync(file).mtimeMs > built;
  if (isFresh(agentTarball) && isFresh(hubTarball)) return "reused";
  await run(process.execPath, [join(REPO_ROOT, "scripts", "pack.mjs")], { cwd: REPO_ROOT, timeout: 120_000 });
  return "packed";
}

/** The environment of everything started here: nothing that could lead back to the repository. */
function outsideEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // npm run sets npm_config_local_prefix, npm_package_* and INIT_CWD to the repository.
    if (/^(npm_|NODE_PATH$|NODE_OPTIONS$|INIT_CWD$|VITEST|CONNECT_|DATABASE_URL$|REDIS_URL$|NODE_ENV$|TEST$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, HOME: home, NO_COLOR: "1", FORCE_COLOR: "0", ...extra };
}

let outside: string;
let home: string;
let agentPrefix: string;
let hubPrefix: string;
let packing: "packed" | "reused";
const children = new Set<ChildProcess>();
const agentHomes: string[] = [];

async function npmInstallGlobal(prefix: string, tarball: string): Promise<void> {
  await run("npm", ["install", "-g", "--prefix", prefix, tarball, "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: outside,
    env: outsideEnv(home),
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an installed bin (from <prefix>/bin) outside the repository. */
function runInstalled(prefix: string, bin: string, args: string[], env: Record<string, string> = {}): Promise<Output> {
  return new Promise((done, reject) => {
    execFile(
      join(prefix, "bin", bin),
      args,
      { cwd: outside, env: outsideEnv(home, env), timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(new Error(`${bin} ${args.join(" ")}: ${error.message}\n${stderr}`));
        else done({ code: error ? (error.code as unknown as number) : 0, stdout, stderr });
      },
    );
  });
}

function expectOk(output: Output, what: string): Output {
  if (output.code !== 0) throw new Error(`${what} exited ${output.code}\nstdout: ${output.stdout}\nstderr: ${output.stderr}`);
  return output;
}

/** Every package folder installed under a prefix's lib/node_modules, by package name. */
async function installedPackageNames(prefix: string): Promise<Set<string>> {
  const names = new Set<string>();
  const visit = async (nodeModules: string): Promise<void> => {
    if (!existsSync(nodeModules)) return;
    for (const entry of await readdir(nodeModules)) {
      if (entry.startsWith(".")) continue;
      const dirs = entry.startsWith("@") ? (await readdir(join(nodeModules, entry))).map((sub) => join(entry, sub)) : [entry];
      for (const name of dirs) {
        names.add(name);
        await visit(join(nodeModules, name, "node_modules"));
      }
    }
  };
  await visit(join(prefix, "lib", "node_modules"));
  return names;
}

/** Symbolic links under `dir` whose target is inside the repository. */
async function linksIntoRepository(dir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isSymbolicLink()) {
        if (resolve(path, await readlink(child)).startsWith(REPO_ROOT)) found.push(child);
      } else if (entry.isDirectory()) await visit(child);
    }
  };
  await visit(dir);
  return found;
}

/** Files under `dir` whose text holds the repository's absolute path. */
async function filesNamingRepository(dir: string): Promise<string[]> {
  // grep: 0 found, 1 none; -r does not follow links (checked on their own above).
  const result = await run("grep", ["-rlF", "--", REPO_ROOT, dir], { maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: { code?: number; stdout?: string; stderr?: string }) => {
      if (error.code === 1) return { stdout: "" };
      throw new Error(`grep failed: ${error.stderr}`);
    },
  );
  return result.stdout.split("\n").filter(Boolean);
}

beforeAll(async () => {
  outside = await makeTempDir("install");
  home = join(outside, "home");
  agentPrefix = join(outside, "agent-prefix");
  hubPrefix = join(outside, "hub-prefix");
  expect(outside.startsWith(REPO_ROOT)).toBe(false);
  const started = Date.now();
  packing = await ensureTarballs();
  const packed = Date.now();
  await Promise.all([npmInstallGlobal(agentPrefix, agentTarball), npmInstallGlobal(hubPrefix, hubTarball)]);
  console.info(`install-tarballs: ${packing} in ${packed - started} ms, installed both in ${Date.now() - packed} ms`);
}, 240_000);

afterAll(async () => {
  for (const configDir of agentHomes) {
    await runInstalled(agentPrefix, "connect", ["down"], { CONNECT_HOME: configDir }).catch(() => {});
    // A detached agent that did not stop must not outlive the file.
    const pid = readAgentPid(configDir);
    if (pid !== null && !(await waitForPidExit(pid, 5_000))) process.kill(pid, "SIGKILL");
  }
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
          child.once("exit", () => {
            clearTimeout(timer);
            done();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
}, 60_000);

describe("install from the tarballs", () => {
  it("the agent tarball is small and holds no server code, nor does what npm installed with it", async () => {
    const { size } = statSync(agentTarball);
    console.info(
      `install-tarballs: ${packing} tarballs; agent ${(size / 1024).toFixed(0)} KiB, hub ${(statSync(hubTarball).size / 1024 / 1024).toFixed(1)} MiB packed`,
    );
    expect(size).toBeLessThan(AGENT_TARBALL_MAX_BYTES);

    const { stdout } = await run("tar", ["-tzf", agentTarball], { maxBuffer: 16 * 1024 * 1024 });
    const entries = stdout.split("\n").filter(Boolean);
    expect(entries).toContain("package/bin/run.js");
    expect(entries).toContain("package/node_modules/@private-connect/protocol/package.json");
    const serverEntries = entries.filter((entry) =>
      /apps\/hub|packages\/(api|db)|prisma|pglite|migration\.sql|\.next\/|node_modules\/@private-connect\/(hub|api|db|web)\//.test(
        entry,
      ),
    );
    expect(serverEntries).toEqual([]);

    const installed = await installedPackageNames(agentPrefix);
    expect(installed.has("@private-connect/agent")).toBe(true);
    expect(installed.has("@oclif/core")).toBe(true);
    expect(SERVER_ONLY.filter((name) => installed.has(name))).toEqual([]);
  });

  it("the hub tarball holds the Prisma client, the migrations and the built dashboard", async () => {
    const pkg = join(hubPrefix, "lib", "node_modules", "@private-connect", "hub");
    const db = join(pkg, "node_modules", "@private-connect", "db");
    expect(existsSync(join(db, "dist", "generated", "prisma", "client.js"))).toBe(true);
    const migrations = readdirSync(join(db, "prisma", "migrations"));
    expect(migrations).toEqual(readdirSync(join(REPO_ROOT, "packages", "db", "prisma", "migrations")));
    expect(existsSync(join(pkg, "web", ".next", "BUILD_ID"))).toBe(true);
    expect(existsSync(join(pkg, "web", ".next", "cache"))).toBe(false);
  });

  it("nothing installed names or links to a path inside the repository", async () => {
    for (const prefix of [agentPrefix, hubPrefix]) {
      // npm installs a tarball by copying it; a link would mean it took the repository's folder.
      expect((await lstat(join(prefix, "lib", "node_modules", "@private-connect"))).isSymbolicLink()).toBe(false);
      expect(await linksIntoRepository(prefix)).toEqual([]);
      expect(await filesNamingRepository(prefix)).toEqual([]);
    }
  });

  it("connect --version prints the agent's version", async () => {
    const { stdout } = expectOk(await runInstalled(agentPrefix, "connect", ["--version"]), "connect --version");
    expect(stdout).toContain(`@private-connect/agent/${AGENT_VERSION} `);
  });

  it("hub and dashboard from one prefix, agents from the other: a workspace, an exposure, a reach", {
    timeout: 120_000,
  }, async () => {
    const dataDir = join(outside, "hub-data");
    const hub = spawn(
      join(hubPrefix, "bin", "connect-hub-dashboard"),
      ["--port", "0", "--dashboard-port", "0", "--data", dataDir],
      {
        cwd: outside,
        env: outsideEnv(home),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.add(hub);
    let output = "";
    hub.stdout.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    hub.stderr.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    const exited = new Promise<never>((_, reject) =>
      hub.once("exit", (code, signal) => reject(new Error(`connect-hub-dashboard exited (${code ?? signal}):\n${output}`))),
    );
    const running = await Promise.race([
      waitFor(() => /hub +(http:\/\/\S+)/.exec(output) && /dashboard +(http:\/\/\S+)/.exec(output), {
        timeoutMs: 90_000,
        what: `connect-hub-dashboard to print both addresses; output so far:\n${output}`,
      }),
      exited,
    ]);
    const hubUrl = /hub +(http:\/\/\S+)/.exec(output)?.[1] ?? "";
    const dashboardUrl = /dashboard +(http:\/\/\S+)/.exec(output)?.[1] ?? "";
    expect(running).toBeTruthy();

    const signIn = await fetch(`${dashboardUrl}/sign-in`);
    expect(signIn.status).toBe(200);
    expect(await signIn.text()).toContain("Private Connect");

    const created = expectOk(
      await runInstalled(hubPrefix, "connect-hub", [
        "workspace",
        "create",
        "acme",
        "--owner",
        "ops@acme.test",
        "--json",
        "--data",
        dataDir,
      ]),
      "connect-hub workspace create",
    );
    const { apiKey } = JSON.parse(created.stdout) as { apiKey: string };
    expect(apiKey).toMatch(/^pc_/);

    const echo = await startEchoServer();
    const agentHome = async (label: string) => {
      const dir = join(outside, `agent-${label}`);
      agentHomes.push(dir);
      const env = { CONNECT_HOME: dir };
      expectOk(
        await runInstalled(
          agentPrefix,
          "connect",
          ["up", "--hub", hubUrl, "--api-key", apiKey, "--label", label, "--detach"],
          env,
        ),
        `connect up (${label})`,
      );
      return env;
    };
    const server = await agentHome("server");
    expectOk(await runInstalled(agentPrefix, "connect", ["expose", echo.address, "--name", "echo"], server), "connect expose");
    const laptop = await agentHome("laptop");
    const reachPort = await findFreePort();
    const reached = expectOk(
      await runInstalled(agentPrefix, "connect", ["reach", "echo", "--port", String(reachPort), "--json"], laptop),
      "connect reach",
    );
    expect(JSON.parse(reached.stdout)).toMatchObject({ service: "echo", host: LOOPBACK, port: reachPort });

    const payload = Buffer.alloc(256 * 1024);
    for (let i = 0; i < payload.length; i += 1) payload[i] = (i * 31 + 7) & 0xff;
    expect((await roundTrip(reachPort, payload)).equals(payload)).toBe(true);
    expect(echo.connections).toBe(1);
  });
});
