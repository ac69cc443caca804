// `connect check` (issue 21) against a real hub and real agents: the reaching agent opens a
// stream through the hub and probes what answers, here the machine's own PostgreSQL, MariaDB and
// Redis and an HTTP and a TLS server this file starts. The hub never dials anything itself.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import type { CheckReport } from "@private-connect/agent";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTcp, findFreePort, waitFor } from "../support/net.ts";
import {
  type Agent,
  type CommandResult,
  createWorkspace,
  expectSuccess,
  type Hub,
  makeTempDir,
  parseJsonOutput,
  startAgent,
  startHub,
} from "../support/processes.ts";

interface StatusJson {
  reaches: { service: string; port: number }[];
}

const HTTP_SERVER_HEADER = "check-test/1.0";
const TLS_SUBJECT = "check.test";

/** Whether something accepts TCP connections on 127.0.0.1:port (a system service of this machine). */
async function isListening(port: number): Promise<boolean> {
  try {
    const socket = await connectTcp(port, "127.0.0.1", 2_000);
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

function warnSkipped(what: string): void {
  const line = `WARNING: ${what}: its connect check case was SKIPPED`;
  const bar = "!".repeat(line.length + 4);
  console.warn(`\n${bar}\n! ${line} !\n${bar}\n`);
}

/** The version MariaDB reports of itself to SQL, to compare with what the greeting said; undefined without the mysql client. */
function readMariaDbVersion(): string | undefined {
  try {
    return execFileSync("mysql", ["-h127.0.0.1", "-uroot", "-N", "-B", "-e", "select version()"], {
      encoding: "utf8",
      timeout: 10_000,
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const [hasPostgres, hasMariaDb, hasRedis] = await Promise.all([isListening(5432), isListening(3306), isListening(6379)]);
if (!hasPostgres) warnSkipped("no PostgreSQL on 127.0.0.1:5432");
if (!hasMariaDb) warnSkipped("no MariaDB/MySQL on 127.0.0.1:3306");
if (!hasRedis) warnSkipped("no Redis on 127.0.0.1:6379");
const canMakeCertificate = hasOpenssl();
if (!canMakeCertificate) warnSkipped("no openssl to make a certificate for the TLS server");

let hub: Hub;
let exposer: Agent;
let reacher: Agent;
let httpServer: HttpServer;
let tlsServer: TlsServer | undefined;
let certificate: X509Certificate | undefined;
let deadPort: number;

function check(args: string[]): Promise<CommandResult> {
  return reacher.run(["check", ...args, "--json"]);
}

/** The report of a check that must succeed (exit 0). */
async function checkHealthy(args: string[]): Promise<CheckReport> {
  return parseJsonOutput<CheckReport>(expectSuccess(await check(args)));
}

/** The report of a check that must fail (exit 1, a report on stdout). */
async function checkUnhealthy(args: string[]): Promise<CheckReport> {
  const result = await check(args);
  expect(result.code, `${result.command}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(1);
  return parseJsonOutput<CheckReport>(result);
}

async function reachesOf(agent: Agent): Promise<StatusJson["reaches"]> {
  return parseJsonOutput<StatusJson>(expectSuccess(await agent.run(["status", "--json"]))).reaches;
}

async function listen(server: HttpServer | TlsServer): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  hub = await startHub();
  const { apiKey } = await createWorkspace(hub, "check", "ops@check.test");
  [exposer, reacher] = await Promise.all([
    startAgent({ hub, apiKey, label: "check-exposer" }),
    startAgent({ hub, apiKey, label: "check-reacher" }),
  ]);

  httpServer = createHttpServer((request, response) => {
    response.writeHead(request.url === "/" ? 200 : 404, { server: HTTP_SERVER_HEADER });
    response.end();
  });
  const httpPort = await listen(httpServer);

  const exposures: [string, string][] = [["web", `127.0.0.1:${httpPort}`]];
  if (canMakeCertificate) {
    const dir = await makeTempDir("check-tls");
    const certFile = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "3",
        "-subj",
        `/CN=${TLS_SUBJECT}`,
      ]),
      { stdio: "ignore" },
    );
    const pem = readFileSync(certFile);
    certificate = new X509Certificate(pem);
    tlsServer = createTlsServer({ cert: pem, key: readFileSync(keyFile) }, (socket) => socket.end());
    tlsServer.on("tlsClientError", () => {});
    exposures.push(["secure", `127.0.0.1:${await listen(tlsServer)}`]);
  }
  if (hasPostgres) exposures.push(["pg", "127.0.0.1:5432"]);
  if (hasMariaDb) exposures.push(["maria", "127.0.0.1:3306"]);
  if (hasRedis) exposures.push(["cache", "127.0.0.1:6379"]);
  // Nothing listens here: the exposing agent's dial is refused.
  deadPort = await findFreePort();
  exposures.push(["dead", `127.0.0.1:${deadPort}`]);
  for (const [name, address] of exposures) expectSuccess(await exposer.run(["expose", address, "--name", name]));
}, 120_000);

afterAll(async () => {
  await Promise.all([exposer?.down(), reacher?.down()]);
  await new Promise((resolve) => httpServer?.close(resolve));
  await new Promise((resolve) => (tlsServer === undefined ? resolve(undefined) : tlsServer.close(resolve)));
  await hub?.stop();
});

describe("connect check", () => {
  it.runIf(hasPostgres)("finds a live PostgreSQL from its port, never logging in, and leaves no reach behind", async () => {
    const report = await checkHealthy(["pg"]);
    expect(report).toMatchObject({ service: "pg", protocol: "postgres", isProtocolGuessed: true, isHealthy: true });
    // The probe's user does not exist there: PostgreSQL's own refusal proves PostgreSQL answered.
    expect(report.summary).toMatch(/^PostgreSQL (answered: role "connect_check" does not exist|asks for .+ authentication)/);
    expect(report.details.tls).toBe(false);
    expect(report.openMs).toBeGreaterThan(0);
    expect(report.openMs).toBeLessThan(10_000);
    expect(report.probeMs).toBeGreaterThan(0);
    expect(await reachesOf(reacher)).toEqual([]);
  });

  it.runIf(hasMariaDb)("reads MariaDB's greeting and the version the server really has", async () => {
    const report = await checkHealthy(["maria"]);
    expect(report).toMatchObject({ protocol: "mysql", isProtocolGuessed: true, isHealthy: true });
    expect(report.details.protocolVersion).toBe(10);
    const version = readMariaDbVersion();
    if (version === undefined) {
      warnSkipped("the mysql client could not log in to compare versions");
      expect(report.details.version).toMatch(/^\d+\.\d+\.\d+/);
    } else {
      expect(report.details.version).toBe(version);
      expect(report.details.server).toBe(/mariadb/i.test(version) ? "MariaDB" : "MySQL");
    }
  });

  it.runIf(hasRedis)("gets PONG from Redis", async () => {
    const report = await checkHealthy(["cache"]);
    expect(report).toMatchObject({ protocol: "redis", isProtocolGuessed: true, isHealthy: true });
    expect(report.summary).toMatch(/PONG|NOAUTH/);
  });

  it("reports an HTTP server's status and Server header, in lines for people too", async () => {
    const report = await checkHealthy(["web", "--protocol", "http"]);
    expect(report).toMatchObject({ protocol: "http", isProtocolGuessed: false, isHealthy: true });
    expect(report.details).toMatchObject({ status: 200, server: HTTP_SERVER_HEADER });

    const human = expectSuccess(await reacher.run(["check", "web", "--protocol", "http"]));
    expect(human.stdout).toContain("web: healthy");
    expect(human.stdout).toMatch(/opened\s+in [\d.]+ ms through the hub/);
    expect(human.stdout).toContain(`HTTP 200 OK from ${HTTP_SERVER_HEADER}`);
  });

  it.runIf(canMakeCertificate)("describes a TLS server's certificate: subject, expiry, not verified", async () => {
    const report = await checkHealthy(["secure", "--protocol", "tls"]);
    expect(report).toMatchObject({ protocol: "tls", isHealthy: true });
    expect(report.details).toMatchObject({ subject: TLS_SUBJECT, issuer: TLS_SUBJECT, verified: false });
    expect(report.details.validTo).toBe(new Date(certificate?.validTo ?? "").toISOString());
    expect(report.details.daysLeft).toBeGreaterThanOrEqual(2);
    expect(report.details.daysLeft).toBeLessThanOrEqual(3);
  });

  it("uses the reach the user already has and leaves it in place", async () => {
    const reach = parseJsonOutput<{ port: number }>(expectSuccess(await reacher.run(["reach", "web", "--json"])));
    const report = await checkHealthy(["web", "--protocol", "http"]);
    expect(report.details.status).toBe(200);
    expect(await reachesOf(reacher)).toEqual([expect.objectContaining({ service: "web", port: reach.port })]);
    expectSuccess(await reacher.run(["reach", "--stop", "web"]));
  });

  it("says a wrong protocol did not answer, exits 1, and still removes its reach", async () => {
    const report = await checkUnhealthy(["web", "--protocol", "postgres"]);
    expect(report.isHealthy).toBe(false);
    expect(report.openMs).toBeGreaterThan(0);
    expect(report.problem).toMatch(/not PostgreSQL/);
    expect(await reachesOf(reacher)).toEqual([]);
  });

  it("says an unknown service is not found, with the next step", async () => {
    const report = await checkUnhealthy(["nope"]);
    expect(report.openMs).toBeNull();
    expect(report.problem).toMatch(/^Service not found: .*connect services/);
    const human = await reacher.run(["check", "nope"]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("nope: NOT healthy");
  });

  it("says when the exposing agent cannot connect to the service", async () => {
    const report = await checkUnhealthy(["dead"]);
    expect(report.problem).toMatch(/cannot connect to it .*ECONNREFUSED/);
    expect(report.problem).toContain(`127.0.0.1:${deadPort}`);
    expect(await reachesOf(reacher)).toEqual([]);
  });

  // Last: it stops the exposing agent.
  it("says a service is offline when its agent is not connected", async () => {
    expectSuccess(await exposer.down());
    // The hub notices the agent gone when its connection closes: wait for it to say so.
    await waitFor(
      async () =>
        parseJsonOutput<{ name: string; online: boolean }[]>(expectSuccess(await reacher.run(["services", "--json"]))).some(
          (entry) => entry.name === "web" && !entry.online,
        ),
      { what: "web to show offline", timeoutMs: 20_000 },
    );
    const report = await checkUnhealthy(["web", "--protocol", "http"]);
    expect(report.openMs).toBeNull();
    expect(report.problem).toBe(
      "web is offline: its agent check-exposer is not connected to the hub; start it there with connect up, and see connect services",
    );
    expect(await reachesOf(reacher)).toEqual([]);
  });
});
