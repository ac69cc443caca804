// Decides where the PostgreSQL cases of the test suite run, and makes throwaway databases there.
//
// Order: $DATABASE_URL if set; else the server on 127.0.0.1:5432 if it answers; else a cluster
// started here with initdb/pg_ctl in a temp dir on a free port; else null (PGlite only), with a
// loud warning. PC_TEST_POSTGRES=throwaway|none forces one of the last two (to test them).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";
import { findFreePort } from "./net.ts";

export type PostgresSource = "env" | "local" | "throwaway";

export interface PostgresServer {
  /** A URL with rights to create and drop databases. */
  adminUrl: string;
  host: string;
  port: number;
  source: PostgresSource;
  /** Stops and removes a throwaway cluster; a no-op for servers this module did not start. */
  stop(): Promise<void>;
}

export const NO_POSTGRES_WARNING = "WARNING: no PostgreSQL found: PostgreSQL cases ran on PGlite only";

let warned = false;

/** Prints the no-PostgreSQL warning, once per process, where nobody can miss it. */
export function warnNoPostgres(): void {
  if (warned) return;
  warned = true;
  const bar = "!".repeat(NO_POSTGRES_WARNING.length + 4);
  console.warn(`\n${bar}\n! ${NO_POSTGRES_WARNING} !\n${bar}\n`);
}

/** True when a PostgreSQL server answers `select 1` at this URL within the timeout. */
export async function canConnect(url: string, timeoutMs = 3000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function serverFromUrl(url: string, source: PostgresSource, stop: () => Promise<void>): PostgresServer {
  const parsed = new URL(url);
  return {
    adminUrl: url,
    host: parsed.hostname || "127.0.0.1",
    port: Number(parsed.port || 5432),
    source,
    stop,
  };
}

export async function acquirePostgres(): Promise<PostgresServer | null> {
  const forced = process.env.PC_TEST_POSTGRES;
  const noop = async () => {};

  if (!forced) {
    const fromEnv = process.env.DATABASE_URL;
    if (fromEnv) {
      if (!(await canConnect(fromEnv, 10_000))) {
        // The caller asked for this server explicitly: failing loudly beats silently using another.
        throw new Error(`DATABASE_URL is set but no PostgreSQL answers there (${redact(fromEnv)})`);
      }
      return serverFromUrl(fromEnv, "env", noop);
    }
    const local = "postgresql://postgres@127.0.0.1:5432/postgres";
    if (await canConnect(local)) return serverFromUrl(local, "local", noop);
  }

  if (forced !== "none") {
    const throwaway = await startThrowawayCluster().catch((error: unknown) => {
      console.warn(`could not start a throwaway PostgreSQL cluster: ${String(error)}`);
      return null;
    });
    if (throwaway) return throwaway;
  }

  warnNoPostgres();
  return null;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparsable URL>";
  }
}

/** Finds a PostgreSQL server binary on PATH, else in the newest /usr/lib/postgresql/N/bin. */
export function findPostgresBinary(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const candidate = join(root, version, "bin", name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

async function lookupUser(name: string): Promise<{ uid: number; gid: number } | null> {
  const passwd = await readFile("/etc/passwd", "utf8").catch(() => "");
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

/**
 * A private cluster that a test may also stop and start again on the same port (a database
 * outage), keeping its data.
 */
export interface ThrowawayCluster extends PostgresServer {
  /** `pg_ctl stop -m fast`: connections are cut and new ones refused until serverStart(). */
  serverStop(): Promise<void>;
  serverStart(): Promise<void>;
}

/**
 * Starts a private cluster with initdb/pg_ctl on a free port, or null when those binaries are
 * missing. As root it runs them as the `postgres` user, since initdb refuses root.
 */
export async function startThrowawayCluster(): Promise<ThrowawayCluster | null> {
  const initdb = findPostgresBinary("initdb");
  const pgCtl = findPostgresBinary("pg_ctl");
  if (!initdb || !pgCtl) return null;

  let runAs: (file: string, args: string[], timeoutMs: number) => Promise<unknown> = run;
  const dir = await mkdtemp(join(tmpdir(), "pc-pg-"));
  if (process.getuid?.() === 0) {
    const owner = await lookupUser("postgres");
    if (!owner) {
      await rm(dir, { recursive: true, force: true });
      throw new Error("running as root and there is no `postgres` user to run initdb as");
    }
    await chown(dir, owner.uid, owner.gid);
    const runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].find((p) => existsSync(p));
    runAs = runuser
      ? (file, args, timeoutMs) => run(runuser, ["-u", "postgres", "--", file, ...args], timeoutMs)
      : (file, args, timeoutMs) => run("su", ["postgres", "-c", [file, ...args].map(shellQuote).join(" ")], timeoutMs);
  }

  const data = join(dir, "data");
  const port = await findFreePort();
  const serverStart = () =>
    runAs(
      pgCtl,
      [
        "-D",
        data,
        "-l",
        join(dir, "postgres.log"),
        "-o",
        `-p ${port} -h 127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off`,
        "-w",
        "-t",
        "60",
        "start",
      ],
      90_000,
    ).then(() => undefined);
  const serverStop = () => runAs(pgCtl, ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"], 45_000).then(() => undefined);
  try {
    await runAs(initdb, ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], 120_000);
    await serverStart();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const stop = async () => {
    await runAs(pgCtl, ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"], 45_000).catch((error: unknown) => {
      // Already stopped by the test is fine; anything else is worth a word.
      if (!String(error).includes("Is server running?"))
        console.warn(`stopping the throwaway PostgreSQL failed: ${String(error)}`);
    });
    await rm(dir, { recursive: true, force: true });
  };
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  if (!(await canConnect(url, 10_000))) {
    await stop();
    throw new Error(`the throwaway cluster on port ${port} started but does not answer`);
  }
  return { ...serverFromUrl(url, "throwaway", stop), serverStop, serverStart };
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates `pc_test_<random>` on the server at adminUrl; drop() removes it even if still in use. */
export async function createDatabaseOn(adminUrl: string): Promise<TestDatabase> {
  const name = `pc_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}
