// The README walkthrough, as a user runs it: a hub, a workspace, a "server" agent exposing the real
// PostgreSQL, a "laptop" agent reaching it, `pg` queries through the reach port, status, undo.
// Once with the hub on its embedded PGlite, once with the hub on PostgreSQL.
import { createHash } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, NO_POSTGRES_WARNING, postgresServer } from "../support/harness.ts";
import { statusExposes, statusReaches, valuesUnderKey } from "../support/json.ts";
import { connectTcp, findFreePort, isPortFree, LOOPBACK, roundTrip, startEchoServer, waitFor } from "../support/net.ts";
import {
  type Agent,
  createWorkspace,
  errorLines,
  expectSuccess,
  type Hub,
  parseJsonOutput,
  startAgent,
  startHub,
} from "../support/processes.ts";

const TEN_MB = 10 * 1024 * 1024;
const pgTarget = postgresServer();

if (!pgTarget) {
  console.warn(`${NO_POSTGRES_WARNING}: the walkthrough exposes an in-process echo server instead and skips its pg queries`);
}

async function status(agent: Agent): Promise<unknown> {
  return parseJsonOutput(expectSuccess(await agent.run(["status", "--json"])));
}

/** pg client options for the run's PostgreSQL, but through the reach port. */
function clientOptions(port: number): pg.ClientConfig {
  if (!pgTarget) throw new Error("unreachable: no PostgreSQL");
  const admin = new URL(pgTarget.adminUrl);
  return {
    host: LOOPBACK,
    port,
    user: decodeURIComponent(admin.username || "postgres"),
    password: admin.password ? decodeURIComponent(admin.password) : undefined,
    database: decodeURIComponent(admin.pathname.slice(1) || "postgres"),
    connectionTimeoutMillis: 15_000,
    query_timeout: 45_000,
  };
}

async function queryThroughReach(port: number): Promise<void> {
  const client = new pg.Client(clientOptions(port));
  client.on("error", () => {});
  await client.connect();
  try {
    const one = await client.query<{ one: number }>("select 1 as one");
    expect(one.rows).toEqual([{ one: 1 }]);

    const big = await client.query<{ s: string }>(`select repeat('x', ${TEN_MB}) as s`);
    const s = big.rows[0]?.s ?? "";
    expect(s.length).toBe(TEN_MB);
    expect(s.startsWith("xxxx") && s.endsWith("xxxx")).toBe(true);

    // Many rows, each checked: the bytes arrive in order and intact, not only in the right amount.
    const rows = await client.query<{ n: number; h: string }>(
      "select n, md5(n::text) as h from generate_series(1, 20000) as n order by n",
    );
    expect(rows.rows.length).toBe(20000);
    const wrong = rows.rows.filter(
      (row, i) =>
        row.n !== i + 1 ||
        row.h !==
          createHash("md5")
            .update(String(i + 1))
            .digest("hex"),
    );
    expect(wrong.slice(0, 3)).toEqual([]);
  } finally {
    await client.end().catch(() => {});
  }
}

interface Variant {
  name: string;
  usesPostgres: boolean;
  /** PGlite variant picks the local port (`--port N --json`); the other lets the agent choose. */
  pickPort: boolean;
}

const variants: Variant[] = [
  { name: "PGlite (embedded default)", usesPostgres: false, pickPort: true },
  { name: "PostgreSQL (DATABASE_URL)", usesPostgres: true, pickPort: false },
];

describe.each(variants)("README walkthrough, hub on $name", (variant) => {
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const drop of drops) await drop().catch((error: unknown) => console.warn(`drop failed: ${String(error)}`));
  });

  it("workspace, expose, reach, query, status, undo", { timeout: 180_000 }, async (ctx) => {
    let databaseUrl: string | undefined;
    if (variant.usesPostgres) {
      const db = await createTestDatabase();
      if (!db) {
        console.warn(`${NO_POSTGRES_WARNING}: SKIPPING the walkthrough with the hub on PostgreSQL`);
        ctx.skip();
        return;
      }
      databaseUrl = db.url;
      drops.push(() => db.drop());
    }

    // 1. The hub.
    const hub: Hub = await startHub({ databaseUrl });
    drops.unshift(() => hub.stop());
    const health = await fetch(`${hub.url}/healthz`);
    expect(health.status).toBe(200);

    // 2. A workspace and its API key, without a dashboard.
    const { workspace, apiKey } = await createWorkspace(hub, "acme", "ops@acme.test");
    expect(workspace.name).toBe("acme");
    expect(apiKey).toMatch(/^pc_/);

    // 3. The "server" agent exposes PostgreSQL (or, with none on this machine, an echo server).
    const server = await startAgent({ hub, apiKey, label: "server" });
    // `--detach` returns once connected, and does not leave its daemon holding our terminal.
    expect(server.up.stdioHeld, "connect up --detach left stdout/stderr open").toBe(false);
    expect(server.pid(), "agent.pid of the detached agent").not.toBeNull();
    const echo = pgTarget ? null : await startEchoServer();
    const target = pgTarget ? `${pgTarget.host}:${pgTarget.port}` : (echo?.address ?? "");
    expectSuccess(await server.run(["expose", target, "--name", "prod-db"]));

    // 4. The "laptop" agent, another config directory in the same workspace, reaches it.
    const laptop = await startAgent({ hub, apiKey, label: "laptop" });
    expect(laptop.configDir).not.toBe(server.configDir);
    let reachPort: number;
    if (variant.pickPort) {
      const wanted = await findFreePort();
      const reached = parseJsonOutput<{ service: string; host: string; port: number; online: boolean }>(
        expectSuccess(await laptop.run(["reach", "prod-db", "--port", String(wanted), "--json"])),
      );
      // Online: its exposing agent is connected, so reach warns of nothing.
      expect(reached).toEqual({ service: "prod-db", host: LOOPBACK, port: wanted, online: true });
      reachPort = wanted;
    } else {
      const reached = expectSuccess(await laptop.run(["reach", "prod-db"]));
      // Without --port a free port is chosen and printed.
      const printed = /(?:127\.0\.0\.1|localhost):(\d{2,5})/.exec(reached.stdout);
      expect(printed, `reach printed no HOST:PORT: ${reached.stdout}`).not.toBeNull();
      reachPort = Number(printed?.[1]);
    }
    expect(await isPortFree(reachPort)).toBe(false);
    // What the README has the user look at next: what this agent can reach.
    const listed = parseJsonOutput<{ name: string; online: boolean; agentLabel: string | null }[]>(
      expectSuccess(await laptop.run(["services", "--json"])),
    );
    expect(listed.find((service) => service.name === "prod-db")).toMatchObject({ online: true, agentLabel: "server" });

    if (pgTarget) {
      await queryThroughReach(reachPort);
    } else {
      const payload = Buffer.from("hello through the hub");
      expect(await roundTrip(reachPort, payload)).toEqual(payload);
    }

    // Exposures and reaches live in the config directories: after `connect down` and a plain
    // `connect up --detach` (saved identity, no key), the same reach port works again.
    for (const agent of [server, laptop]) {
      expectSuccess(await agent.down());
      expectSuccess(await agent.run(["up", "--detach"], { timeoutMs: 60_000 }));
    }
    await waitFor(async () => !(await isPortFree(reachPort)), { timeoutMs: 10_000, what: "the reach to be restored" });
    if (pgTarget) {
      const again = new pg.Client({ ...clientOptions(reachPort) });
      again.on("error", () => {});
      await again.connect();
      try {
        expect((await again.query("select 2 as two")).rows).toEqual([{ two: 2 }]);
      } finally {
        await again.end().catch(() => {});
      }
    } else {
      const payload = Buffer.from("hello again");
      expect(await roundTrip(reachPort, payload)).toEqual(payload);
    }

    // 5. Status shows the exposure on one side and the reach on the other.
    const serverStatus = await status(server);
    expect(statusExposes(serverStatus, "prod-db"), JSON.stringify(serverStatus)).toBe(true);
    expect(JSON.stringify(valuesUnderKey(serverStatus, /^hub/i))).toContain('"connected"');
    const laptopStatus = await status(laptop);
    expect(statusReaches(laptopStatus, "prod-db", reachPort), JSON.stringify(laptopStatus)).toBe(true);
    // Under the default policy the queries above went end to end: the hub carried only ciphertext.
    const security = (s: unknown, list: "reaches" | "exposures") =>
      (s as Record<typeof list, { service?: string; name?: string; security?: { isEndToEnd: boolean } }[]>)[list].find(
        (entry) => (entry.service ?? entry.name) === "prod-db",
      )?.security;
    expect(security(laptopStatus, "reaches"), JSON.stringify(laptopStatus)).toMatchObject({ isEndToEnd: true });
    expect(security(serverStatus, "exposures"), JSON.stringify(serverStatus)).toMatchObject({ isEndToEnd: true });

    // Undo: the reach port is released and the service leaves both statuses.
    expectSuccess(await laptop.run(["reach", "--stop", "prod-db"]));
    await waitFor(() => isPortFree(reachPort), { timeoutMs: 5_000, what: `port ${reachPort} to be released` });
    await expect(connectTcp(reachPort, LOOPBACK, 5_000)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(statusReaches(await status(laptop), "prod-db")).toBe(false);

    expectSuccess(await server.run(["expose", "--remove", "prod-db"]));
    expect(statusExposes(await status(server), "prod-db")).toBe(false);
    const gone = await laptop.run(["reach", "prod-db"]);
    expect(gone.code, gone.stdout).not.toBe(0);
    expect(errorLines(gone).join("\n")).toContain("Service not found");

    // `connect down` stops the detached agent.
    const pid = server.pid();
    expectSuccess(await server.down());
    if (pid) await waitFor(() => !isProcessAlive(pid), { timeoutMs: 10_000, what: "the agent to exit after connect down" });
  });
});

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
