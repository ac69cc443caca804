// Sharing across workspaces with real processes: workspace "acme" shares its PostgreSQL with an
// agent of workspace "contractor" through a code; revocation cuts the open session at once;
// expired shares, unshared services and unjoined agents get "Service not found".
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, NO_POSTGRES_WARNING, postgresServer } from "../support/harness.ts";
import {
  connectTcp,
  findFreePort,
  LOOPBACK,
  roundTrip,
  startEchoServer,
  type TestServer,
  waitFor,
  waitForClose,
} from "../support/net.ts";
import {
  type Agent,
  connect,
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

/** What `connect reach` says for a name this agent cannot reach, whether it exists elsewhere or nowhere. */
function notFound(what: string): string {
  return `Error: Service not found: this agent can reach no service ${what}; list the ones it can with connect services`;
}

interface CreatedShare {
  id: string;
  code: string;
  services: string[];
  expiresAt: string;
}

interface ShareListEntry {
  id: string;
  status: string;
  useCount: number;
  joiners: { agentLabel: string; useCount: number }[];
}

/** A pg client through a local port, connected. */
async function openPgClient(port: number): Promise<pg.Client> {
  if (!pgTarget) throw new Error("unreachable: no PostgreSQL");
  const admin = new URL(pgTarget.adminUrl);
  const client = new pg.Client({
    host: LOOPBACK,
    port,
    user: decodeURIComponent(admin.username || "postgres"),
    password: admin.password ? decodeURIComponent(admin.password) : undefined,
    database: decodeURIComponent(admin.pathname.slice(1) || "postgres"),
    connectionTimeoutMillis: 10_000,
    query_timeout: 20_000,
  });
  client.on("error", () => {});
  await client.connect();
  return client;
}

async function reach(agent: Agent, service: string, extra: string[] = []): Promise<number> {
  const port = await findFreePort();
  const reached = parseJsonOutput<{ port: number }>(
    expectSuccess(await agent.run(["reach", service, "--port", String(port), "--json", ...extra])),
  );
  expect(reached.port).toBe(port);
  return port;
}

describe("shares between workspaces", () => {
  const cleanups: Array<() => Promise<void>> = [];
  let hub: Hub;
  let serverA: Agent;
  let laptopB: Agent;
  let otherB: Agent;
  let contractorKey: string;
  let cache: TestServer;
  /** The shared target: the real PostgreSQL, or an echo server on a machine without one. */
  let sharedTarget: string;

  beforeAll(async () => {
    // The hub on PostgreSQL when there is one, so the expiry case can move a share's clock.
    const database = await createTestDatabase();
    if (database) cleanups.push(() => database.drop());
    else console.warn(`${NO_POSTGRES_WARNING}: the hub runs on PGlite and the expired-share case is skipped`);
    hub = await startHub({ databaseUrl: database?.url });
    cleanups.unshift(() => hub.stop());
    const acme = await createWorkspace(hub, "acme", "ops@acme.test");
    const contractor = await createWorkspace(hub, "contractor", "dev@contractor.test");
    contractorKey = contractor.apiKey;
    serverA = await startAgent({ hub, apiKey: acme.apiKey, label: "db-server" });
    laptopB = await startAgent({ hub, apiKey: contractor.apiKey, label: "laptop" });
    otherB = await startAgent({ hub, apiKey: contractor.apiKey, label: "ci" });
    cache = await startEchoServer();
    const echo = pgTarget ? null : await startEchoServer();
    sharedTarget = pgTarget ? `${pgTarget.host}:${pgTarget.port}` : (echo?.address ?? "");
    expectSuccess(await serverA.run(["expose", sharedTarget, "--name", "prod-db"]));
    expectSuccess(await serverA.run(["expose", cache.address, "--name", "cache"]));
  }, 180_000);

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.warn(`cleanup failed: ${String(error)}`));
  });

  async function createShare(args: string[]): Promise<CreatedShare> {
    return parseJsonOutput<CreatedShare>(expectSuccess(await serverA.run(["share", ...args, "--json"])));
  }

  it("lets a joined agent of another workspace query the shared PostgreSQL, and revocation cuts the open session", async () => {
    // Nothing is reachable before joining, and the answer is the one for a name that exists nowhere.
    const before = await laptopB.run(["reach", "prod-db"]);
    expect(before.code).not.toBe(0);
    expect(errorLines(before)).toEqual([notFound("prod-db")]);

    const share = await createShare(["--name", "acme-contractor", "--expires", "7d", "--services", "prod-db"]);
    expect(share.code).toMatch(/^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$/);
    expect(share.services).toEqual(["prod-db"]);
    const joined = expectSuccess(await laptopB.run(["join", share.code]));
    expect(joined.stdout).toContain("Joined share acme-contractor from acme: prod-db");
    const joinedList = parseJsonOutput<{ shareName: string; from: string; status: string }[]>(
      expectSuccess(await laptopB.run(["join", "list", "--json"])),
    );
    expect(joinedList).toContainEqual(expect.objectContaining({ shareName: "acme-contractor", from: "acme", status: "active" }));

    const port = await reach(laptopB, "prod-db");
    let session: pg.Client | undefined;
    let socket: Awaited<ReturnType<typeof connectTcp>> | undefined;
    if (pgTarget) {
      session = await openPgClient(port);
      expect((await session.query("select 41 + 1 as answer")).rows).toEqual([{ answer: 42 }]);
    } else {
      socket = await connectTcp(port);
      socket.write("hello");
      await waitFor(() => socket?.bytesRead === 5, { what: "the echo through the share" });
    }

    // A service outside --services, and an agent of B that did not join: not found.
    const unshared = await laptopB.run(["reach", "cache"]);
    expect(errorLines(unshared)).toEqual([notFound("cache")]);
    const notJoined = await otherB.run(["reach", "prod-db"]);
    expect(errorLines(notJoined)).toEqual([notFound("prod-db")]);

    // The form before `share list` keeps working, with a one-line hint on stderr (here, under --json).
    const listedOld = expectSuccess(await serverA.run(["share", "--list", "--json"]));
    expect(listedOld.stderr.trim()).toBe("Warning: connect share --list is deprecated: use connect share list");
    expect(parseJsonOutput<ShareListEntry[]>(listedOld).map((candidate) => candidate.id)).toContain(share.id);
    const listed = parseJsonOutput<ShareListEntry[]>(expectSuccess(await serverA.run(["share", "list", "--json"])));
    const entry = listed.find((candidate) => candidate.id === share.id);
    expect(entry?.status).toBe("active");
    expect(entry?.joiners).toEqual([expect.objectContaining({ agentLabel: "laptop" })]);
    expect(entry?.useCount).toBeGreaterThanOrEqual(1);

    // Revoke: the open session ends at once, and nothing opens through the share again.
    const ended = session
      ? new Promise<number>((resolve) => session?.once("end", () => resolve(Date.now())))
      : waitForClose(socket as NonNullable<typeof socket>, 5_000).then(() => Date.now());
    const revoked = expectSuccess(await serverA.run(["share", "revoke", share.code]));
    expect(revoked.stderr).toBe("");
    const revokedAt = Date.now();
    const endedAt = await Promise.race([
      ended,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error("session still open 5 s after revocation")), 5_000)),
    ]);
    expect(endedAt - revokedAt).toBeLessThan(2_000);
    if (session) await expect(session.query("select 1")).rejects.toThrow();

    const fresh = await connectTcp(port);
    const outcome = await waitForClose(fresh, 5_000);
    expect(outcome.bytes).toBe(0);
    const again = await laptopB.run(["reach", "prod-db", "--from", "acme"]);
    expect(errorLines(again)).toEqual([notFound("prod-db from acme")]);
    expectSuccess(await laptopB.run(["reach", "--stop", "prod-db"]));
  }, 120_000);

  it("refuses an expired share like an unknown service", async (ctx) => {
    if (!hub.databaseUrl) {
      ctx.skip();
      return;
    }
    const share = await createShare(["--name", "short-lived", "--expires", "1h", "--services", "cache"]);
    expectSuccess(await laptopB.run(["join", share.code]));
    const port = await reach(laptopB, "cache");
    expect((await roundTrip(port, Buffer.from("ping"))).toString()).toBe("ping");
    // Time passes for this share only: its expiry moves into the past, as the owner of the data sees it.
    const admin = new pg.Client({ connectionString: hub.databaseUrl });
    await admin.connect();
    try {
      await admin.query(
        "UPDATE shares SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE id = $1",
        [share.id],
      );
    } finally {
      await admin.end();
    }
    const refused = await connectTcp(port);
    expect((await waitForClose(refused, 5_000)).bytes).toBe(0);
    expect(errorLines(await laptopB.run(["reach", "cache", "--from", "acme"]))).toEqual([notFound("cache from acme")]);
    const listed = parseJsonOutput<ShareListEntry[]>(expectSuccess(await serverA.run(["share", "list", "--json"])));
    expect(listed.find((entry) => entry.id === share.id)?.status).toBe("expired");
    expectSuccess(await laptopB.run(["reach", "--stop", "cache"]));
  }, 120_000);

  it("has a hub started with another ENCRYPTION_KEY say so, and join no code made under the first", async (ctx) => {
    // Several hubs share one database only with one key: a second one configured with another
    // must not pretend every code is mistyped.
    if (!hub.databaseUrl) {
      ctx.skip();
      return;
    }
    const share = await createShare(["--name", "first-key", "--expires", "1h", "--services", "cache"]);
    const otherHub = await startHub({ databaseUrl: hub.databaseUrl, env: { ENCRYPTION_KEY: randomBytes(32).toString("hex") } });
    const mismatch = "ENCRYPTION_KEY is not the key this database's share codes and links were made with";
    try {
      expect(otherHub.logs()).toContain(mismatch);
      const joiner = await startAgent({ hub: otherHub, apiKey: contractorKey, label: "other-hub-joiner" });
      try {
        const refused = await joiner.run(["join", share.code]);
        expect(refused.code).not.toBe(0);
        expect(errorLines(refused).join("\n")).toContain(mismatch);
      } finally {
        await joiner.down();
      }
    } finally {
      await otherHub.stop();
    }
  }, 120_000);

  it("keeps the joiner's own service first, reaches the shared one with --from, and applies the rate limit", async () => {
    const own = await startEchoServer();
    // B exposes its own "cache"; A's "cache" comes only through a share and only with --from.
    expectSuccess(await otherB.run(["expose", own.address, "--name", "cache"]));
    const share = await createShare(["--name", "limited", "--services", "cache", "--rate-limit", "3"]);
    expectSuccess(await laptopB.run(["join", share.code]));

    const ownPort = await reach(laptopB, "cache");
    expect((await roundTrip(ownPort, Buffer.from("mine"))).toString()).toBe("mine");
    expect(own.connections).toBe(1);

    const sharedPort = await reach(laptopB, "cache", ["--from", "acme"]);
    const cacheBefore = cache.connections;
    // Three new connections a minute pass; the fourth is refused without reaching the service.
    for (let i = 0; i < 3; i++) expect((await roundTrip(sharedPort, Buffer.from(`shared ${i}`))).toString()).toBe(`shared ${i}`);
    expect(cache.connections - cacheBefore).toBe(3);
    const limited = await connectTcp(sharedPort);
    expect((await waitForClose(limited, 5_000)).bytes).toBe(0);
    expect(cache.connections - cacheBefore).toBe(3);
    // The agent's own service is not limited by someone else's share.
    expect((await roundTrip(ownPort, Buffer.from("still mine"))).toString()).toBe("still mine");
  }, 120_000);

  it("refuses a hostile agent label, and prints one stored before as visible text in share list and join list", async (ctx) => {
    // Clear the screen, then retitle the sharer's terminal window: what a label once could do.
    const hostile = "\u001b[2J\u001b]0;PWNED\u0007";
    const configDir = join(await makeTempDir("agent-hostile"), "config");
    const refused = await connect(["up", "--hub", hub.url, "--api-key", contractorKey, "--label", hostile, "--detach"], {
      configDir,
      timeoutMs: 60_000,
    });
    expect(refused.code).not.toBe(0);
    expect(errorLines(refused)).toEqual([
      "Error: label: Agent label must not contain control characters, line breaks or text-direction marks (it contains U+001B): pass a different --label",
    ]);
    if (!hub.databaseUrl) {
      ctx.skip();
      return;
    }
    const share = await createShare(["--name", "hostile-names", "--services", "cache"]);
    expectSuccess(await otherB.run(["join", share.code]));
    // Rows from before the hub refused such text: the joiner's label on the grant, and the share's
    // name as the joining side keeps it (join list).
    const admin = new pg.Client({ connectionString: hub.databaseUrl });
    await admin.connect();
    try {
      await admin.query("UPDATE share_grants SET grantee_label = $1 WHERE share_id = $2", [hostile, share.id]);
      await admin.query("UPDATE joined_shares SET share_name = $1 WHERE share_id = $2", [
        "rtl\u202eexe.txt\nforged  row",
        share.id,
      ]);
    } finally {
      await admin.end();
    }
    // Raw terminal controls (a line feed between rows is the table's own).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw ones is the point.
    const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;
    const listed = expectSuccess(await serverA.run(["share", "list"]));
    expect(listed.stdout).toContain("\\x1b[2J\\x1b]0;PWNED\\x07 (0)");
    expect(listed.stdout).not.toMatch(RAW_CONTROL);
    const joined = expectSuccess(await otherB.run(["join", "list"]));
    expect(joined.stdout).toContain("rtl\\u202eexe.txt\\nforged  row");
    expect(joined.stdout).not.toMatch(RAW_CONTROL);
    expect(joined.stdout.split("\n").some((line) => line.startsWith("forged"))).toBe(false);
    // --json stays the data as stored: a script gets exactly what the hub holds.
    const asJson = parseJsonOutput<ShareListEntry[]>(expectSuccess(await serverA.run(["share", "list", "--json"])));
    expect(asJson.find((entry) => entry.id === share.id)?.joiners.map((joiner) => joiner.agentLabel)).toEqual([hostile]);
  }, 120_000);

  it("answers a mistyped command with the likely one, a non-zero exit and a pointer to help, without a stack trace", async () => {
    const typo = await serverA.run(["shrae"]);
    expect(typo.code).toBe(127);
    expect(typo.stderr).toBe(
      'Error: "shrae" is not a connect command. Did you mean connect share? Run connect help for the list.\n',
    );
    // Inside a topic: its command, and the topic's help.
    const sub = await serverA.run(["share", "lst"]);
    expect(sub.code).toBe(127);
    expect(sub.stderr).toBe(
      'Error: "share lst" is not a connect command. Did you mean connect share list? Run connect help share for the list.\n',
    );
  });
});
