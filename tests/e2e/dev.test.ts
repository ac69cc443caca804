// connect dev (issue 21): a project's pconnect.yml lists the services it needs; dev reaches them
// on their ports through the running agent, waits until each answers, prints one table and
// writes .env.pconnect; --exec runs a command with the variables; --stop undoes only what dev
// made. Against a real hub, an agent exposing the machine's real PostgreSQL and Redis, and a
// second agent running dev in a temporary project directory.

import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { postgresServer } from "../support/harness.ts";
import { connectTcp, findFreePort, LOOPBACK, readAll, startSinkServer, type TestServer } from "../support/net.ts";
import {
  type Agent,
  type CommandResult,
  createWorkspace,
  errorLines,
  expectSuccess,
  type Hub,
  makeTempDir,
  parseJsonOutput,
  startAgent,
  startHub,
} from "../support/processes.ts";

const pgTarget = postgresServer();
const redisTarget = { host: LOOPBACK, port: 6379 };
const DB = "dev-db";
const CACHE = "dev-cache";
/** Exposed on a port nothing listens on: reachable, never answering. */
const DEAD = "dev-dead";

interface StatusJson {
  reaches: { service: string; host: string; port: number }[];
}

let hub: Hub;
let exposer: Agent;
let laptop: Agent;
let pgUser: string;
let pgDatabase: string;

/** A fresh project directory with this pconnect.yml; returns the file's path. */
async function writeProject(lines: string[]): Promise<string> {
  const dir = await makeTempDir("dev-project");
  const path = join(dir, "pconnect.yml");
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
}

/** The usual project: the database with DATABASE_URL and the cache with REDIS_URL, on these ports. */
function projectLines(dbPort: number, cachePort: number): string[] {
  return [
    "services:",
    `  - name: ${DB}`,
    `    port: ${dbPort}`,
    "    env: DATABASE_URL",
    `    url: "postgresql://${pgUser}@{host}:{port}/${pgDatabase}"`,
    // The ports are chosen at run time, so they say nothing of the protocol: name it.
    "    protocol: postgres",
    `  - name: ${CACHE}`,
    `    port: ${cachePort}`,
    "    env: REDIS_URL",
    '    url: "redis://{host}:{port}/0"',
    "    protocol: redis",
  ];
}

async function reachedPorts(agent: Agent): Promise<Map<string, number>> {
  const status = parseJsonOutput<StatusJson>(expectSuccess(await agent.run(["status", "--json"])));
  return new Map(status.reaches.map((reach) => [reach.service, reach.port]));
}

function dev(args: string[], timeoutMs = 90_000): Promise<CommandResult> {
  return laptop.run(["dev", ...args], { timeoutMs });
}

async function queryDatabase(connectionString: string): Promise<string> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 15_000, query_timeout: 15_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    const result = await client.query<{ db: string }>("select current_database() as db");
    return result.rows[0]?.db ?? "";
  } finally {
    await client.end();
  }
}

async function pingRedis(port: number): Promise<string> {
  const socket = await connectTcp(port);
  socket.end("PING\r\n");
  return (await readAll(socket, { timeoutMs: 10_000 })).toString("utf8");
}

beforeAll(async () => {
  if (pgTarget === null) throw new Error("connect dev's e2e needs the machine's PostgreSQL on 127.0.0.1:5432");
  const admin = new URL(pgTarget.adminUrl);
  pgUser = decodeURIComponent(admin.username || "postgres");
  pgDatabase = decodeURIComponent(admin.pathname.slice(1) || "postgres");
  hub = await startHub();
  const { apiKey } = await createWorkspace(hub, "dev-e2e", "ops@dev-e2e.test");
  [exposer, laptop] = await Promise.all([
    startAgent({ hub, apiKey, label: "server" }),
    startAgent({ hub, apiKey, label: "laptop" }),
  ]);
  expectSuccess(await exposer.run(["expose", `${pgTarget.host}:${pgTarget.port}`, "--name", DB]));
  expectSuccess(await exposer.run(["expose", `${redisTarget.host}:${redisTarget.port}`, "--name", CACHE]));
  expectSuccess(await exposer.run(["expose", `127.0.0.1:${await findFreePort()}`, "--name", DEAD]));
}, 180_000);

// A failed test must not leave its reaches to the next one, which asserts there are none.
afterEach(async () => {
  for (const service of (await reachedPorts(laptop)).keys()) await laptop.run(["reach", "--stop", service]);
});

afterAll(async () => {
  await Promise.all([exposer?.down(), laptop?.down()]);
});

describe("connect dev", () => {
  it("reaches every service, prints one table, writes .env.pconnect 0600 and a real query works through it", async () => {
    const [dbPort, cachePort] = [await findFreePort(), await findFreePort()];
    const file = await writeProject(projectLines(dbPort, cachePort));
    const result = expectSuccess(await dev(["--file", file]));
    expect(result.stdout).toMatch(/^Service\s+Local address\s+Variable\s+State$/m);
    expect(result.stdout).toMatch(new RegExp(`^${DB}\\s+127\\.0\\.0\\.1:${dbPort}\\s+DATABASE_URL\\s+ready \\(postgres`, "m"));
    expect(result.stdout).toMatch(new RegExp(`^${CACHE}\\s+127\\.0\\.0\\.1:${cachePort}\\s+REDIS_URL\\s+ready \\(redis`, "m"));
    // No .gitignore in the project: the advice is given, once.
    expect(errorLines(result).filter((line) => line.includes("Add .env.pconnect to"))).toHaveLength(1);

    const envFile = join(file, "..", ".env.pconnect");
    const databaseUrl = `postgresql://${pgUser}@127.0.0.1:${dbPort}/${pgDatabase}`;
    expect((await readFile(envFile, "utf8")).split("\n").slice(1)).toEqual([
      `DATABASE_URL='${databaseUrl}'`,
      `REDIS_URL='redis://127.0.0.1:${cachePort}/0'`,
      "",
    ]);
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    expect(await queryDatabase(databaseUrl)).toBe(pgDatabase);
    expect(await pingRedis(cachePort)).toBe("+PONG\r\n");

    // A project that lists .env.pconnect in its .gitignore gets no advice; a second run keeps the reaches.
    await writeFile(join(file, "..", ".gitignore"), "node_modules\n.env.pconnect\n");
    const again = expectSuccess(await dev(["--file", file, "--json"]));
    expect(again.stderr).not.toContain("Add .env.pconnect");
    const json = parseJsonOutput<{
      isEnvFileIgnored: boolean;
      services: { service: string; isReady: boolean; isMadeByDev: boolean }[];
    }>(again);
    expect(json.isEnvFileIgnored).toBe(true);
    expect(json.services.map(({ service, isReady, isMadeByDev }) => ({ service, isReady, isMadeByDev }))).toEqual([
      { service: DB, isReady: true, isMadeByDev: true },
      { service: CACHE, isReady: true, isMadeByDev: true },
    ]);

    expectSuccess(await dev(["--file", file, "--stop"]));
    expect(await reachedPorts(laptop)).toEqual(new Map());
    await expect(stat(envFile)).rejects.toThrow(/ENOENT/);
  });

  it("--stop removes what dev made and leaves a reach the user made by hand", async () => {
    const [dbPort, cachePort] = [await findFreePort(), await findFreePort()];
    expectSuccess(await laptop.run(["reach", CACHE, "--port", String(cachePort)]));
    const file = await writeProject(projectLines(dbPort, cachePort));
    const made = expectSuccess(await dev(["--file", file]));
    expect(made.stdout).toMatch(
      new RegExp(`^${CACHE}\\s+127\\.0\\.0\\.1:${cachePort}\\s+REDIS_URL\\s+ready \\(redis.*your own reach\\)$`, "m"),
    );

    const stopped = expectSuccess(await dev(["--file", file, "--stop"]));
    expect(stopped.stdout).toContain(`Stopped reaching ${DB} on 127.0.0.1:${dbPort}`);
    expect(stopped.stdout).not.toContain(`Stopped reaching ${CACHE}`);
    expect(await reachedPorts(laptop)).toEqual(new Map([[CACHE, cachePort]]));
    expect(await pingRedis(cachePort)).toBe("+PONG\r\n");
    await expect(stat(join(file, "..", ".env.pconnect"))).rejects.toThrow(/ENOENT/);
    expectSuccess(await laptop.run(["reach", "--stop", CACHE]));
  });

  it("--exec runs the command with the variables, passes its exit code back and stops the reaches", async () => {
    const [dbPort, cachePort] = [await findFreePort(), await findFreePort()];
    const file = await writeProject(projectLines(dbPort, cachePort));
    // The child proves it got the variables by using them: a real query through DATABASE_URL.
    const script = [
      "const pg = require('pg');",
      "const client = new pg.Client({ connectionString: process.env.DATABASE_URL });",
      "client.connect().then(() => client.query('select 41 + 1 as n')).then((r) => {",
      "  console.log('answer ' + r.rows[0].n + ' ' + process.env.REDIS_URL + ' ' + process.argv[1]);",
      "  return client.end();",
      "}).then(() => process.exit(7), (e) => { console.error(e); process.exit(1); });",
    ].join("\n");
    // `$HOME;` reaches the child as it is: no shell ever reads it.
    // CONNECT_HOME names the agent here, so nothing is appended after the command.
    const result = await laptop.run(["dev", "--file", file, "--exec", "--", process.execPath, "-e", script, "$HOME;"], {
      configFlag: false,
      timeoutMs: 90_000,
    });
    expect(result.code, result.stderr).toBe(7);
    expect(result.stdout).toContain(`answer 42 redis://127.0.0.1:${cachePort}/0 $HOME;`);
    expect(await reachedPorts(laptop)).toEqual(new Map());
    // --exec writes no file: the variables lived in the child's environment only.
    await expect(stat(join(file, "..", ".env.pconnect"))).rejects.toThrow(/ENOENT/);
  });

  it("a taken port fails naming it and --port-offset, and leaves no reach behind", async () => {
    const sink: TestServer = await startSinkServer();
    try {
      const dbPort = await findFreePort();
      const file = await writeProject(projectLines(dbPort, sink.port));
      const result = await dev(["--file", file]);
      expect(result.code).toBe(1);
      expect(errorLines(result).join("\n")).toContain(
        `Error: Port ${sink.port} for ${CACHE} (${file}) is already in use on 127.0.0.1`,
      );
      expect(result.stderr).toContain("--port-offset");
      expect(await reachedPorts(laptop)).toEqual(new Map());
      await expect(stat(join(file, "..", ".env.pconnect"))).rejects.toThrow(/ENOENT/);
    } finally {
      await sink.close();
    }
  });

  it("refuses a file naming another hub before reaching anything, and sends it nothing", async () => {
    const [dbPort, cachePort] = [await findFreePort(), await findFreePort()];
    // The "other hub" is a listener of ours: had dev (or the agent) contacted it, it would know.
    const otherHub = await startSinkServer();
    try {
      const otherUrl = `http://127.0.0.1:${otherHub.port}`;
      const file = await writeProject([`hub: ${otherUrl}`, ...projectLines(dbPort, cachePort)]);
      const result = await dev(["--file", file]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${file} names the hub ${otherUrl}, but this agent's hub is ${hub.url.replace(/\/$/, "")}`);
      expect(await reachedPorts(laptop)).toEqual(new Map());
      await expect(stat(join(file, "..", ".env.pconnect"))).rejects.toThrow(/ENOENT/);
      expect(otherHub.connections).toBe(0);
    } finally {
      await otherHub.close();
    }
    // The agent's own hub, written differently, is the same hub.
    const own = await writeProject([`hub: ${hub.url.replace(/^http:/, "HTTP:")}/`, ...projectLines(dbPort, cachePort)]);
    expectSuccess(await dev(["--file", own]));
    expectSuccess(await dev(["--file", own, "--stop"]));
    expect(await reachedPorts(laptop)).toEqual(new Map());
  });

  it("a service that never answers is shown, keeps its reach, exits 1; --exec then runs nothing", async () => {
    const [dbPort, deadPort] = [await findFreePort(), await findFreePort()];
    const lines = [
      "services:",
      `  - { name: ${DB}, port: ${dbPort}, protocol: postgres }`,
      `  - { name: ${DEAD}, port: ${deadPort}, env: DEAD_URL }`,
    ];
    const file = await writeProject(lines);
    const result = await dev(["--file", file, "--timeout", "2s"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^${DEAD}\\s+127\\.0\\.0\\.1:${deadPort}\\s+DEAD_URL\\s+not answering`, "m"));
    expect(result.stdout).toMatch(new RegExp(`^${DB}\\s+127\\.0\\.0\\.1:${dbPort}\\s+-\\s+ready`, "m"));
    expect(errorLines(result).some((line) => line.startsWith(`${DEAD}: `))).toBe(true);
    // Its reach stays, to work once the service is back; the file is written all the same.
    expect(await reachedPorts(laptop)).toEqual(
      new Map([
        [DB, dbPort],
        [DEAD, deadPort],
      ]),
    );
    expect(await readFile(join(file, "..", ".env.pconnect"), "utf8")).toContain(`DEAD_URL='127.0.0.1:${deadPort}'`);
    expectSuccess(await dev(["--file", file, "--stop"]));

    const exec = await laptop.run(
      ["dev", "--file", file, "--timeout", "1s", "--exec", "--", process.execPath, "-e", "console.log('ran')"],
      {
        configFlag: false,
      },
    );
    expect(exec.code).toBe(1);
    expect(exec.stdout).not.toContain("ran");
    expect(exec.stderr).toContain(`${DEAD} did not answer within 1s`);
    expect(await reachedPorts(laptop)).toEqual(new Map());
  });

  it("a bad file reports its line and column, and reaches nothing", async () => {
    const file = await writeProject(["services:", `  - name: ${DB}`, "    port: 99999"]);
    const result = await dev(["--file", file]);
    expect(result.code).toBe(1);
    expect(errorLines(result)).toContain(`Error: ${file}:3:11: services[0].port must be a whole number from 1 to 65535`);
    expect(await reachedPorts(laptop)).toEqual(new Map());
  });
});
