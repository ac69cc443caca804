// Log hygiene with real processes. A hub on PostgreSQL at LOG_LEVEL=trace (the most verbose
// level, where payload bytes would show first), agents of two workspaces, and canaries: a payload
// string sent through a reach and through a share, the real API keys, agent tokens, sign-in link,
// session cookie and share code of the run, and made-up secrets put into failing requests (as a
// Bearer, a cookie, a URL token, a link slug, a relay upgrade). Afterwards none of them appears
// in the hub's stdout/stderr, the agents' agent.log files, the CLI output or any table (where
// only a secret's SHA-256 may be); client addresses are masked in the log and whole in the audit
// table; and every log line about a request or a relay stream carries its id.
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createTestDatabase, NO_POSTGRES_WARNING, postgresServer } from "../support/harness.ts";
import { findFreePort, roundTrip, sha256Hex, startEchoServer, type TestServer, waitFor } from "../support/net.ts";
import type { TestDatabase } from "../support/postgres.ts";
import {
  type Agent,
  type CommandResult,
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

const HAS_POSTGRES = postgresServer() !== null;
if (!HAS_POSTGRES) {
  console.warn(
    `${NO_POSTGRES_WARNING}: SKIPPING tests/e2e/log-hygiene.test.ts (it dumps every table through an owner connection)`,
  );
}

/** Where the test's HTTP requests say they come from (the hub runs with TRUST_PROXY). */
const CLIENT_IP = "203.0.113.77";
const CLIENT_IP_MASKED = "203.0.x.x";
const PAYLOAD = `CANARY-PAYLOAD-${randomBytes(8).toString("hex")}`;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Made-up secrets, each in the format the hub uses for the real ones (or in none at all). */
const MADE_UP = {
  bearer: `CANARY-BEARER-${randomBytes(8).toString("hex")}`,
  apiKey: `pc_${[...randomBytes(32)].map((byte) => ALNUM.charAt(byte % ALNUM.length)).join("")}`,
  agentToken: randomBytes(32).toString("hex"),
  relayToken: randomBytes(32).toString("hex"),
  cookie: `CANARY-COOKIE-${randomBytes(8).toString("hex")}`,
  urlToken: randomBytes(32).toString("base64url"),
  linkSlug: [...randomBytes(26)].map((byte) => BASE32.charAt(byte & 31)).join(""),
  queryValue: `CANARY-QUERY-${randomBytes(8).toString("hex")}`,
};

interface LogLine {
  level: number;
  msg?: string;
  reqId?: string;
  connId?: string;
  streamId?: number;
  agentId?: string;
  [key: string]: unknown;
}

interface HttpAnswer {
  status: number;
  text: string;
  headers: Headers;
}

describe.skipIf(!HAS_POSTGRES)("log hygiene: canary secrets and payloads across a real run", () => {
  let db: TestDatabase;
  let owner: pg.Client;
  let hub: Hub;
  const encryptionKey = randomBytes(32).toString("hex");
  let echo: TestServer;
  let server: Agent;
  let laptop: Agent;
  let outsider: Agent;
  /** Every secret the run saw in clear: name -> value. */
  const canaries = new Map<string, string>(Object.entries(MADE_UP).map(([name, value]) => [`made-up ${name}`, value]));
  /** SHA-256 digests the database must hold: evidence that the dump read the credential tables. */
  const expectedDigests = new Map<string, string>();
  /** Output of every CLI command except the two that print a secret on purpose. */
  const cliOutputs: CommandResult[] = [];
  /** The x-request-id the hub answered for each request, to find its log lines. */
  const requestIds = new Map<string, string>();

  async function run(agent: Agent, args: string[]): Promise<CommandResult> {
    const result = await agent.run(args);
    cliOutputs.push(result);
    return result;
  }

  async function hubRequest(
    name: string,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<HttpAnswer> {
    const response = await fetch(`${hub.url}${path}`, {
      method: init.method ?? "GET",
      headers: { "x-forwarded-for": CLIENT_IP, ...init.headers },
      body: init.body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const reqId = response.headers.get("x-request-id");
    expect(reqId, `${name}: x-request-id`).toMatch(/^[0-9a-f-]{36}$/);
    requestIds.set(name, reqId ?? "");
    return { status: response.status, text, headers: response.headers };
  }

  function hubLines(): LogLine[] {
    return hub
      .logs()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as LogLine);
  }

  function agentLogs(agents: Agent[]): Map<string, string> {
    const logs = new Map<string, string>();
    for (const agent of agents) {
      for (const file of readdirSync(agent.configDir).filter((name) => name.endsWith(".log"))) {
        logs.set(`${agent.label}/${file}`, readFileSync(join(agent.configDir, file), "utf8"));
      }
    }
    return logs;
  }

  function readAgentToken(agent: Agent): string {
    return (JSON.parse(readFileSync(join(agent.configDir, "identity.json"), "utf8")) as { token: string }).token;
  }

  beforeAll(async () => {
    const created = await createTestDatabase();
    if (!created) throw new Error("postgresServer() was set but no test database could be created");
    db = created;
    owner = new pg.Client({ connectionString: db.url, connectionTimeoutMillis: 10_000 });
    owner.on("error", () => {});
    await owner.connect();
    hub = await startHub({
      databaseUrl: db.url,
      env: { LOG_LEVEL: "trace", TRUST_PROXY: "true", ALLOW_INSECURE: "true", ENCRYPTION_KEY: encryptionKey },
    });
    // The key that keys the stored share codes and link slugs is a secret like the rest.
    canaries.set("ENCRYPTION_KEY", encryptionKey);

    const acme = await createWorkspace(hub, "acme", "owner@acme.test");
    const contractor = await createWorkspace(hub, "contractor", "lead@contractor.test");
    canaries.set("API key of acme", acme.apiKey);
    canaries.set("API key of contractor", contractor.apiKey);
    expectedDigests.set("API key of acme", sha256Hex(Buffer.from(acme.apiKey)));

    echo = await startEchoServer();
    server = await startAgent({ hub, apiKey: acme.apiKey, label: "server" });
    laptop = await startAgent({ hub, apiKey: acme.apiKey, label: "laptop" });
    outsider = await startAgent({ hub, apiKey: contractor.apiKey, label: "outsider" });
    cliOutputs.push(server.up, laptop.up, outsider.up);
    for (const agent of [server, laptop, outsider]) {
      const token = readAgentToken(agent);
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      canaries.set(`agent token of ${agent.label}`, token);
      expectedDigests.set(`agent token of ${agent.label}`, sha256Hex(Buffer.from(token)));
    }
    expectSuccess(await run(server, ["expose", echo.address, "--name", "echo"]));
  }, 180_000);

  afterAll(async () => {
    await hub?.stop();
    await owner?.end().catch(() => {});
    await db?.drop().catch((error: unknown) => console.warn(`drop failed: ${String(error)}`));
  });

  it("carries the canary payload through a reach and through a share", { timeout: 90_000 }, async () => {
    const port = await findFreePort();
    const reached = parseJsonOutput<{ port: number }>(
      expectSuccess(await run(laptop, ["reach", "echo", "--port", String(port), "--json"])),
    );
    expect(reached.port).toBe(port);
    // Small and large: one frame, and a payload spread over many frames.
    const big = Buffer.from(`${PAYLOAD}\n`.repeat(20_000));
    for (const payload of [Buffer.from(PAYLOAD), big, Buffer.from(`${PAYLOAD} again`)]) {
      expect((await roundTrip(port, payload)).equals(payload)).toBe(true);
    }

    // The share code is printed once, on purpose: that output is the one place it may be.
    const share = parseJsonOutput<{ code: string }>(
      expectSuccess(await server.run(["share", "--name", "canary", "--expires", "1h", "--services", "echo", "--json"])),
    );
    expect(share.code).toMatch(/^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$/);
    canaries.set("share code", share.code);
    // Share codes are stored keyed: HMAC(HKDF(ENCRYPTION_KEY), SHA-256(code)).
    const codeDigest = sha256Hex(Buffer.from(share.code.replaceAll("-", "")));
    const hashKey = hkdfSync(
      "sha256",
      Buffer.from(encryptionKey, "hex"),
      new Uint8Array(0),
      "private-connect share codes and link slugs v1",
      32,
    );
    expectedDigests.set("share code", createHmac("sha256", Buffer.from(hashKey)).update(codeDigest).digest("hex"));
    expectSuccess(await run(outsider, ["join", share.code]));
    const sharedPort = await findFreePort();
    expectSuccess(await run(outsider, ["reach", "echo", "--port", String(sharedPort), "--json"]));
    const shared = Buffer.from(`${PAYLOAD} through the share`);
    expect((await roundTrip(sharedPort, shared)).equals(shared)).toBe(true);
    expect(echo.connections).toBeGreaterThanOrEqual(4);
  });

  it("refuses requests carrying made-up secrets, in headers and URLs", { timeout: 60_000 }, async () => {
    const asBearer = (token: string) => ({ authorization: `Bearer ${token}` });
    expect((await hubRequest("unknown bearer", "/trpc/agents.me", { headers: asBearer(MADE_UP.bearer) })).status).toBe(401);
    expect((await hubRequest("unknown API key", "/trpc/agents.me", { headers: asBearer(MADE_UP.apiKey) })).status).toBe(401);
    expect((await hubRequest("unknown agent token", "/trpc/agents.me", { headers: asBearer(MADE_UP.agentToken) })).status).toBe(
      401,
    );
    const provision = await hubRequest("provision with unknown key", "/v1/agents/provision", {
      method: "POST",
      headers: { ...asBearer(MADE_UP.apiKey), "content-type": "application/json" },
      body: JSON.stringify({ clientType: "cli" }),
    });
    expect(provision.status).toBe(401);
    const cookie = await hubRequest("unknown session cookie", "/trpc/auth.me", {
      headers: { cookie: `theme=dark; pc_session=${MADE_UP.cookie}` },
    });
    expect(cookie.status).toBe(401);
    await hubRequest("token in a URL", `/auth/verify?token=${MADE_UP.urlToken}&next=${MADE_UP.queryValue}`);
    await hubRequest("link slug in a URL", `/l/${MADE_UP.linkSlug}/x?token=${MADE_UP.queryValue}`);
    await hubRequest(
      "secret in a tRPC input",
      `/trpc/agents.me?input=${encodeURIComponent(JSON.stringify({ token: MADE_UP.queryValue }))}`,
    );

    // The relay, with a token that is not one: refused before the WebSocket opens.
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${hub.url.replace(/^http/, "ws")}/relay`, {
        headers: { ...asBearer(MADE_UP.relayToken), "x-forwarded-for": CLIENT_IP },
      });
      const timer = setTimeout(() => reject(new Error("the relay did not answer within 10 s")), 10_000);
      ws.on("unexpected-response", (_request, response) => {
        clearTimeout(timer);
        resolve(response.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("open", () => reject(new Error("the relay accepted a made-up token")));
      ws.on("error", () => {});
    });
    expect(status).toBe(401);

    // The CLI given a key and a token that do not exist: it says no without echoing them.
    const configDir = join(await makeTempDir("agent-refused"), "config");
    const badKey = await connect(["up", "--hub", hub.url, "--api-key", MADE_UP.apiKey, "--label", "nope", "--detach"], {
      configDir,
    });
    const badToken = await connect(["up", "--hub", hub.url, "--token", MADE_UP.agentToken, "--detach"], { configDir });
    for (const result of [badKey, badToken]) {
      expect(result.code, result.stderr).not.toBe(0);
      expect(errorLines(result).join("\n")).toContain("Error: ");
      cliOutputs.push(result);
    }
  });

  it("writes the sign-in link to a private file and signs in with it; the log says only where", { timeout: 60_000 }, async () => {
    const requested = await hubRequest("sign-in link request", "/trpc/auth.requestMagicLink", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "owner@acme.test" }),
    });
    expect(requested.status, requested.text).toBe(200);
    const linksFile = join(hub.dataDir, "sign-in-links.log");
    expect(statSync(linksFile).mode & 0o777).toBe(0o600);
    const line = readFileSync(linksFile, "utf8").trimEnd().split("\n").at(-1) ?? "";
    const link = /^\S+Z owner@acme\.test (http\S+\/auth\/verify\?token=([A-Za-z0-9_-]{43}))$/.exec(line);
    expect(link, line).not.toBeNull();
    const linkToken = link?.[2] ?? "";
    canaries.set("sign-in link token", linkToken);
    expectedDigests.set("sign-in link token", sha256Hex(Buffer.from(linkToken)));

    const verified = await hubRequest("sign-in", "/trpc/auth.verifyMagicLink", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: linkToken }),
    });
    expect(verified.status, verified.text).toBe(200);
    const cookieValue = /pc_session=([^;]+)/.exec(verified.headers.get("set-cookie") ?? "")?.[1] ?? "";
    const sessionToken = cookieValue.split(".")[0] ?? "";
    expect(sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    canaries.set("session cookie", cookieValue);
    canaries.set("session token", sessionToken);
    expectedDigests.set("session token", sha256Hex(Buffer.from(sessionToken)));
    const me = await hubRequest("signed-in request", "/trpc/auth.me", { headers: { cookie: `pc_session=${cookieValue}` } });
    expect(me.status, me.text).toBe(200);
    expect(me.text).toContain("owner@acme.test");

    // An agent's own token over the control plane, from the client address: audited whole below.
    const agentMe = await hubRequest("agent request", "/trpc/agents.me", {
      headers: { authorization: `Bearer ${canaries.get("agent token of laptop")}` },
    });
    expect(agentMe.status, agentMe.text).toBe(200);
  });

  it("logged every request and stream with its id, scrubbed and masked", { timeout: 30_000 }, async () => {
    // An access line is written when the response closes, a moment after the client has it.
    await waitFor(
      () =>
        [...requestIds.values()].every((reqId) =>
          hubLines().some((line) => line.reqId === reqId && line.msg === "request completed"),
        ),
      { what: "an access line for every request" },
    );
    const lines = hubLines();
    const completed = lines.filter((line) => line.msg === "request completed");
    // Each request the test made has its access line, under the id the hub sent back.
    for (const [name, reqId] of requestIds) {
      const access = completed.find((line) => line.reqId === reqId);
      expect(access, `access line of "${name}"`).toBeDefined();
      expect(access?.ip, name).toBe(CLIENT_IP_MASKED);
    }
    const slugAccess = completed.find((line) => line.reqId === requestIds.get("link slug in a URL"));
    expect(slugAccess?.path).toBe("/l/[REDACTED]/x");
    const verifyAccess = completed.find((line) => line.reqId === requestIds.get("token in a URL"));
    expect(verifyAccess?.path).toBe("/auth/verify");

    expect(lines.some((line) => line.msg?.startsWith("sign-in link for o***@acme.test written to "))).toBe(true);

    const refused = lines.filter((line) => line.msg === "relay connection refused");
    expect(refused.some((line) => line.ip === CLIENT_IP_MASKED)).toBe(true);

    const opened = lines.filter((line) => line.msg === "stream opened");
    expect(opened.length, "stream opened lines (debug) for the reaches").toBeGreaterThanOrEqual(4);
    expect(opened.some((line) => line.service === "echo" && line.shareId !== undefined)).toBe(true);
    expect(lines.filter((line) => line.msg === "stream closed").length).toBeGreaterThanOrEqual(4);

    // The rule itself: a line about a request has its reqId, a line about a relay connection its
    // connId, one about a stream its streamId too.
    const missing: string[] = [];
    for (const line of lines) {
      const msg = line.msg ?? "";
      if (/^(request completed|procedure (failed|refused)|provision request failed)$/.test(msg) && !line.reqId) missing.push(msg);
      if (/^(agent (connected|disconnected)|relay connection refused)$/.test(msg) && !line.connId) missing.push(msg);
      if (/stream/.test(msg) && !/^drain/.test(msg) && (!line.connId || line.streamId === undefined)) missing.push(msg);
    }
    expect(missing).toEqual([]);
    expect(lines.some((line) => line.msg === "agent connected" && line.connId && line.agentId)).toBe(true);
  });

  it("leaves no canary in any log, CLI output or table; tables keep only digests and whole addresses", {
    timeout: 90_000,
  }, async () => {
    // Stop everything first, so shutdown lines are part of what is scanned.
    for (const agent of [laptop, outsider, server]) cliOutputs.push(await agent.down());
    await hub.stop();

    const sources = new Map<string, string>([["hub stdout/stderr", hub.logs()]]);
    for (const [name, text] of agentLogs([server, laptop, outsider])) sources.set(`agent log ${name}`, text);
    for (const result of cliOutputs) sources.set(`\`${result.command}\``, `${result.stdout}\n${result.stderr}`);

    // Controls: the sources are the real ones, and they are not empty.
    expect(sources.get("hub stdout/stderr")).toContain('"msg":"hub listening"');
    expect(sources.get("agent log server/agent.log")).toContain("Exposing echo");
    expect(sources.get("agent log laptop/agent.log")).toContain("Reaching echo");
    expect(sources.get("agent log outsider/agent.log")).toContain("Connected to the hub");

    const leaks: string[] = [];
    for (const [source, text] of sources) {
      for (const [what, value] of canaries) if (text.includes(value)) leaks.push(`${what} in ${source}`);
      if (text.includes(PAYLOAD)) leaks.push(`payload in ${source}`);
      if (text.includes(CLIENT_IP)) leaks.push(`client address in ${source}`);
    }
    expect(leaks).toEqual([]);
    // The relay logged byte counts, never bytes: the big payload's size is there, its text is not.
    expect(hub.logs()).toContain('"bytesFromClient"');

    const tables = await owner.query<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
        order by 1, 2`,
    );
    expect(tables.rows.map((table) => table.name)).toEqual(
      expect.arrayContaining(["agents", "api_keys", "sessions", "magic_links", "shares", "audit_events"]),
    );
    let dump = "";
    const tableLeaks: string[] = [];
    for (const { schema, name } of tables.rows) {
      const quoted = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
      const { rows } = await owner.query<{ row: string }>(`select to_jsonb(t)::text as row from ${quoted} t`);
      for (const { row } of rows) {
        dump += `${row}\n`;
        for (const [what, value] of canaries) if (row.includes(value)) tableLeaks.push(`${what} in ${schema}.${name}`);
        if (row.includes(PAYLOAD)) tableLeaks.push(`payload in ${schema}.${name}`);
      }
    }
    expect(tableLeaks).toEqual([]);
    for (const [what, digest] of expectedDigests) expect(dump, `the stored digest of the ${what}`).toContain(digest);
    // The audit trail keeps the address whole for investigation; only logs mask it.
    const audited = await owner.query("select 1 from audit_events where ip = $1", [CLIENT_IP]);
    expect(audited.rowCount, "an audit event with the client's whole address").toBeGreaterThan(0);
  });
});
