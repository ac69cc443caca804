// Credentials against the real hub and agents, with the hub on PostgreSQL so the test can look
// at (and adjust) rows through an owner connection:
//   1. POST /v1/agents/provision: status codes, TTL bounds, hub-chosen ids, then `connect up --token`.
//   2. A provisioned token that expires while its agent is connected: the hub cuts it with that
//      reason, the agent stops for good, and the token is refused at once (no grace).
//   3. `connect up --rotate-token` on a running agent: an open TCP stream keeps echoing, the old
//      token is dead, the new one works, and a restart without a key uses it.
//   4. A revoked API key is refused at the very next use.
//   5. agents.revoke of an exposing agent with a stream flowing through it: the stream is reset
//      within a second, the agent's relay connection closes with 4410 after the reason, the
//      service goes offline and the token gets 401 everywhere.
//   6. `connect-hub agent list|revoke` against the running hub (through its admin socket).
//   7. No key or token used above is stored in clear in any table (only its SHA-256 may be).
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type net from "node:net";
import { join } from "node:path";
import { CloseCode, decodeControl, encodeFrame, FrameType, forEachFrame, ResetCode } from "@private-connect/protocol";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, NO_POSTGRES_WARNING, postgresServer } from "../support/harness.ts";
import { openRawRelayClient, type RawRelayClient } from "../support/in-process-relay.ts";
import {
  connectTcp,
  isPortFree,
  roundTrip,
  sha256Hex,
  startEchoServer,
  type TestServer,
  waitFor,
  waitForClose,
} from "../support/net.ts";
import type { TestDatabase } from "../support/postgres.ts";
import {
  type Agent,
  type CommandResult,
  cleanupAll,
  connect,
  createWorkspace,
  errorLines,
  expectSuccess,
  type Hub,
  isAlive,
  makeTempDir,
  parseJsonOutput,
  readAgentPid,
  runHubCli,
  startAgent,
  startHub,
} from "../support/processes.ts";

const HAS_POSTGRES = postgresServer() !== null;
if (!HAS_POSTGRES) {
  console.warn(
    `${NO_POSTGRES_WARNING}: SKIPPING tests/e2e/credentials.test.ts entirely (it adjusts and scans rows through an owner connection to PostgreSQL)`,
  );
}

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TWO_HOURS_MS = 2 * 60 * 60 * 1000;
const MINUTE_MS = 60_000;
/** The hub's answers, as documented in packages/api/src/errors.ts and the relay authority. */
const INVALID_CREDENTIALS = "Invalid credentials: check your API key or run connect up again";
const PROVISIONED_TOKEN_EXPIRED = "Provisioned agent token expired";
/** How far in the future test 2 moves a provisioned token's expiry (the brief's 4 seconds). */
const SHORT_EXPIRY_SECONDS = 4;

let hub: Hub;
let db: TestDatabase;
let owner: pg.Client;
/** The first workspace's API key (from `connect-hub workspace create`). */
let apiKey: string;

/** Every secret this file saw in clear, for the scan of test 5: name -> value. */
const secrets = new Map<string, string>();
function remember(name: string, value: string | undefined): void {
  if (value) secrets.set(name, value);
}

// ---------------------------------------------------------------------------------------------
// Small HTTP helpers (fetch, bounded).

interface HttpAnswer {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

async function request(
  method: string,
  path: string,
  options: { bearer?: string; body?: string; contentType?: string } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  if (options.body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  const response = await fetch(`${hub.url}${path}`, {
    method,
    headers,
    body: options.body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, headers: response.headers };
}

/** `bearer` null: no Authorization header at all. */
function provision(body: unknown, bearer: string | null = apiKey): Promise<HttpAnswer> {
  return request("POST", "/v1/agents/provision", {
    ...(bearer === null ? {} : { bearer }),
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

interface Provisioned {
  agentId: string;
  token: string;
  expiresAt: string;
}

async function provisionOk(body: unknown, name: string): Promise<Provisioned> {
  const answer = await provision(body);
  expect(answer.status, answer.text).toBe(201);
  const created = answer.json as Provisioned;
  remember(`provisioned token (${name})`, created.token);
  return created;
}

/** tRPC v11 over HTTP, no transformer: a query is GET /trpc/<path>, a mutation POSTs its input as JSON. */
function trpcQuery(path: string, bearer: string): Promise<HttpAnswer> {
  return request("GET", `/trpc/${path}`, { bearer });
}
function trpcMutation(path: string, bearer: string, input: unknown): Promise<HttpAnswer> {
  return request("POST", `/trpc/${path}`, { bearer, body: JSON.stringify(input) });
}

function trpcData<T>(answer: HttpAnswer): T {
  expect(answer.status, answer.text).toBe(200);
  return (answer.json as { result: { data: T } }).result.data;
}

function trpcError(answer: HttpAnswer): { message: string; appCode: string | null; httpStatus: number } {
  const error = (answer.json as { error?: { message: string; data?: { appCode?: string | null; httpStatus?: number } } }).error;
  expect(error, answer.text).toBeDefined();
  return { message: error?.message ?? "", appCode: error?.data?.appCode ?? null, httpStatus: error?.data?.httpStatus ?? 0 };
}

function errorOf(answer: HttpAnswer): string {
  return String((answer.json as { error?: unknown } | undefined)?.error ?? answer.text);
}

// ---------------------------------------------------------------------------------------------
// Agent helpers.

function readIdentity(configDir: string): { agentId: string; token: string; tokenExpiresAt: string; isProvisioned?: boolean } {
  return JSON.parse(readFileSync(join(configDir, "identity.json"), "utf8"));
}

async function newConfigDir(name: string): Promise<string> {
  return join(await makeTempDir(`agent-${name}`), "config");
}

function describeRun(result: CommandResult): string {
  return `\`${result.command}\` -> ${result.code ?? result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

interface StatusJson {
  pid: number;
  agent: { id: string; label: string; workspace: { id: string; name: string }; clientType?: string };
  hub: { url: string; state: string; lastError?: string };
  token: { expiresAt: string; isProvisioned: boolean };
  activeStreams: number;
}

async function statusOf(configDir: string): Promise<StatusJson> {
  return parseJsonOutput<StatusJson>(expectSuccess(await connect(["status", "--json"], { configDir })));
}

/** Reads exactly `n` bytes from a socket that stays open (bounded; fails on close or error). */
function readExactly(socket: net.Socket, n: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      socket.pause();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total > n) finish(new Error(`expected ${n} bytes, got ${total}`));
      else if (total === n) finish();
    };
    const onClose = () => finish(new Error(`socket closed after ${total} of ${n} bytes`));
    const onError = (error: Error) => finish(error);
    const timer = setTimeout(() => finish(new Error(`read of ${n} bytes timed out after ${timeoutMs} ms (${total})`)), timeoutMs);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onError);
    socket.resume();
  });
}

async function echoOnce(socket: net.Socket, payload: Buffer): Promise<void> {
  const reply = readExactly(socket, payload.length);
  socket.write(payload);
  expect((await reply).equals(payload), "the echo came back different").toBe(true);
}

/**
 * An exposing agent on a raw relay connection: it answers every OPEN and echoes every DATA and
 * FIN itself (no TCP target), so the test sees exactly what the hub sends it, close code included.
 */
async function openEchoingRawAgent(label: string): Promise<{ agentId: string; token: string; raw: RawRelayClient }> {
  const registered = trpcData<{ agentId: string; token: string }>(await trpcMutation("agents.register", apiKey, { label }));
  remember(`agent token of ${label}`, registered.token);
  const raw = await openRawRelayClient(hub.url, registered.token);
  raw.ws.on("message", (data: Buffer) => {
    forEachFrame(data, (type, streamId, payload) => {
      if (type === FrameType.OPEN) raw.ws.send(encodeFrame(FrameType.OPEN_OK, streamId));
      else if (type === FrameType.DATA) raw.ws.send(encodeFrame(FrameType.DATA, streamId, Buffer.from(payload)));
      else if (type === FrameType.FIN) raw.ws.send(encodeFrame(FrameType.FIN, streamId));
    });
  });
  await waitFor(() => controlMessages(raw).some((message) => message.type === "welcome"), {
    timeoutMs: 5_000,
    intervalMs: 10,
    what: `the hub to welcome ${label}`,
  });
  return { ...registered, raw };
}

function controlMessages(raw: RawRelayClient): Array<{ type: string; code?: string; message?: string }> {
  return raw.frames.filter((frame) => frame.type === FrameType.CONTROL).map((frame) => decodeControl(frame.payload));
}

/** The close of a raw client's WebSocket, with its reason text. */
function closeOf(raw: RawRelayClient): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => raw.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })));
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(!HAS_POSTGRES)("credentials against the real hub on PostgreSQL", () => {
  beforeAll(async () => {
    const created = await createTestDatabase();
    if (!created) throw new Error("postgresServer() was set but no test database could be created");
    db = created;
    owner = new pg.Client({ connectionString: db.url, connectionTimeoutMillis: 10_000 });
    owner.on("error", () => {});
    hub = await startHub({ databaseUrl: db.url });
    await owner.connect();
    ({ apiKey } = await createWorkspace(hub, "acme", "ops@acme.test"));
    remember("API key of acme", apiKey);
  });

  afterAll(async () => {
    await owner?.end().catch(() => {});
    // Agents and the hub first (they hold connections to the database), then the database.
    await cleanupAll();
    await db?.drop().catch((error: unknown) => console.warn(`dropping ${db.name} failed: ${String(error)}`));
  });

  it("1. POST /v1/agents/provision: codes, TTL bounds, hub-chosen ids; connect up --token", { timeout: 40_000 }, async () => {
    // Default TTL: 2 hours.
    const before = Date.now();
    const answer = await provision({ clientType: "claude-code", label: "ai-runner" });
    const after = Date.now();
    expect(answer.status, answer.text).toBe(201);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    const created = answer.json as Provisioned;
    remember("provisioned token (default TTL)", created.token);
    expect(Object.keys(created).sort()).toEqual(["agentId", "expiresAt", "token"]);
    expect(created.agentId).toMatch(UUID);
    expect(created.token).toMatch(HEX64);
    const expiresAt = Date.parse(created.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + TWO_HOURS_MS - MINUTE_MS);
    expect(expiresAt).toBeLessThanOrEqual(after + TWO_HOURS_MS + MINUTE_MS);

    // The PROVISIONED record: who, when, how long, which client (no audit table yet: the agent row).
    const row = await owner.query(
      `select a.client_type, a.label, a.provisioned_ttl_seconds, a.provisioned_at is not null as provisioned,
              a.token_hash, k.key_hash as provisioned_by_key_hash
         from agents a left join api_keys k on k.id = a.provisioned_by_api_key_id
        where a.id = $1`,
      [created.agentId],
    );
    expect(row.rows).toEqual([
      {
        client_type: "claude-code",
        label: "ai-runner",
        provisioned_ttl_seconds: 7200,
        provisioned: true,
        token_hash: sha256Hex(Buffer.from(created.token)),
        provisioned_by_key_hash: sha256Hex(Buffer.from(apiKey)),
      },
    ]);

    // TTL bounds: 300 and 86400 are allowed, one second outside is a 400 that names the bounds.
    for (const ttlSeconds of [300, 86400]) {
      const ok = await provisionOk({ clientType: "cli", ttlSeconds }, `ttl ${ttlSeconds}`);
      expect(Date.parse(ok.expiresAt) - Date.now()).toBeGreaterThan(ttlSeconds * 1000 - MINUTE_MS);
      expect(Date.parse(ok.expiresAt) - Date.now()).toBeLessThanOrEqual(ttlSeconds * 1000 + MINUTE_MS);
    }
    for (const ttlSeconds of [299, 86401]) {
      const refused = await provision({ clientType: "cli", ttlSeconds });
      expect(refused.status, `ttlSeconds ${ttlSeconds}: ${refused.text}`).toBe(400);
      expect(errorOf(refused)).toContain("300");
      expect(errorOf(refused)).toContain("86400");
    }

    // A label that would drive the terminal of whoever lists agents (escape sequences, BEL, a
    // right-to-left override, NUL, a forged line): 400 naming the field and the character, and no
    // agent row. Letters of any script are a label like any other.
    const agentsBefore = (await owner.query("select count(*)::int as n from agents")).rows[0].n;
    for (const [label, codePoint] of [
      ["\u001b[2J", "U+001B"],
      ["bell\u0007", "U+0007"],
      ["inv\u202eexe.txt", "U+202E"],
      ["nul\u0000", "U+0000"],
      ["two\nlines", "U+000A"],
    ]) {
      const refused = await provision({ clientType: "claude-code", label });
      expect(refused.status, refused.text).toBe(400);
      expect(errorOf(refused)).toBe(
        `label must not contain control characters, line breaks or text-direction marks (it contains ${codePoint}): send a different label, or leave it out to use the client type`,
      );
    }
    expect((await owner.query("select count(*)::int as n from agents")).rows[0].n).toBe(agentsBefore);
    await provisionOk({ clientType: "claude-code", label: "Büro 東京" }, "unicode label");

    // Unknown clientType: 400 naming the field.
    const unknownType = await provision({ clientType: "vim" });
    expect(unknownType.status, unknownType.text).toBe(400);
    expect(errorOf(unknownType)).toContain("clientType");

    // No Authorization: 401. An agent token where an API key belongs: 403.
    const anonymous = await provision({ clientType: "cli" }, null);
    expect(anonymous.status, anonymous.text).toBe(401);
    const asAgent = await provision({ clientType: "cli" }, created.token);
    expect(asAgent.status, asAgent.text).toBe(403);

    // Wrong method: 405 with Allow: POST.
    const get = await request("GET", "/v1/agents/provision", { bearer: apiKey });
    expect(get.status, get.text).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");

    // A 100 KiB body: 413.
    const huge = await provision({ clientType: "cli", label: "x".repeat(100 * 1024) });
    expect(huge.status, huge.text).toBe(413);

    // A caller cannot choose or reuse the agent id or token: whatever the answer, the supplied
    // ones are not what the hub hands out or accepts.
    const chosenId = randomUUID();
    const chosenToken = randomBytes(32).toString("hex");
    remember("token a caller tried to choose", chosenToken);
    for (const attempt of [
      { agentId: chosenId, token: chosenToken },
      // Reuse: the id and token of the agent provisioned above.
      { agentId: created.agentId, token: created.token },
    ]) {
      const chosen = await provision({ clientType: "cli", ...attempt });
      if (chosen.status === 201) {
        const got = chosen.json as Provisioned;
        remember("provisioned token (caller tried to choose)", got.token);
        expect(got.agentId).not.toBe(attempt.agentId);
        expect(got.token).not.toBe(attempt.token);
      } else {
        expect(chosen.status, chosen.text).toBe(400);
        expect(errorOf(chosen)).toMatch(/agentId/);
        expect(errorOf(chosen)).toMatch(/token/);
      }
    }
    const chosenMe = await trpcQuery("agents.me", chosenToken);
    expect(chosenMe.status, chosenMe.text).toBe(401);
    expect((await owner.query("select 1 from agents where id = $1", [chosenId])).rowCount).toBe(0);
    expect((await owner.query("select count(*)::int as n from agents where id = $1", [created.agentId])).rows[0].n).toBe(1);

    // The provisioned token runs an agent: connect up --token ... --detach returns once connected.
    const configDir = await newConfigDir("provisioned");
    const up = await connect(["up", "--token", created.token, "--hub", hub.url, "--detach"], { configDir, timeoutMs: 30_000 });
    expect(up.code, describeRun(up)).toBe(0);
    expect(up.stdioHeld).toBe(false);
    const status = await statusOf(configDir);
    expect(status.hub.state).toBe("connected");
    expect(status.agent.id).toBe(created.agentId);
    expect(status.agent.label).toBe("ai-runner");
    expect(status.token.isProvisioned).toBe(true);
    expect(Date.parse(status.token.expiresAt)).toBe(expiresAt);
    // `connect status` does not show the client type; when it does, it must be the provisioned one.
    if (status.agent.clientType !== undefined) expect(status.agent.clientType).toBe("claude-code");
    // Every use of the token carries its clientType: the control plane says so, and so does the
    // hub's record of the relay connection.
    const me = trpcData<{ agentId: string; clientType: string; isProvisioned: boolean }>(
      await trpcQuery("agents.me", created.token),
    );
    expect(me).toMatchObject({ agentId: created.agentId, clientType: "claude-code", isProvisioned: true });
    await waitFor(
      () =>
        hub
          .logs()
          .split("\n")
          .some((line) => line.includes('"agent connected"') && line.includes(created.agentId) && line.includes('"claude-code"')),
      { timeoutMs: 5_000, what: "the hub to log the provisioned agent's connection with its clientType" },
    );
    expect(readIdentity(configDir).isProvisioned).toBe(true);

    const pid = readAgentPid(configDir);
    expectSuccess(await connect(["down"], { configDir }));
    if (pid) await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, what: "the provisioned agent to stop" });
  });

  it("2. a provisioned token that expires while connected: cut with that reason, no retry, no grace", {
    timeout: 40_000,
  }, async () => {
    const created = await provisionOk({ clientType: "codex", label: "short-lived" }, "expires while connected");
    const moved = await owner.query<{ token_expires_at: Date }>(
      `update agents set token_expires_at = now() + make_interval(secs => $2) where id = $1 returning token_expires_at`,
      [created.agentId, SHORT_EXPIRY_SECONDS],
    );
    expect(moved.rowCount).toBe(1);
    const expiry = moved.rows[0]?.token_expires_at.getTime() ?? 0;

    const configDir = await newConfigDir("expiring");
    const up = await connect(["up", "--token", created.token, "--hub", hub.url, "--detach"], { configDir, timeoutMs: 30_000 });
    const upDoneAt = Date.now();
    expect(
      up.code,
      `connect up --detach finished ${upDoneAt - expiry} ms relative to the expiry (must be before it)\n${describeRun(up)}`,
    ).toBe(0);
    expect(upDoneAt, "connect up --detach took too long: the token expired before it was connected").toBeLessThan(expiry);
    const pid = readAgentPid(configDir);
    expect(pid, "agent.pid of the detached agent").not.toBeNull();
    if (!pid) return;

    // The hub cuts it at expiry: the agent records why in last-stop.json the moment it is cut.
    const lastStopPath = join(configDir, "last-stop.json");
    await waitFor(() => existsSync(lastStopPath), {
      timeoutMs: SHORT_EXPIRY_SECONDS * 1000 + 10_000,
      intervalMs: 25,
      what: "the hub to cut the agent at its token's expiry (last-stop.json)",
    });
    const cutMs = Date.now() - expiry;
    expect(cutMs, "the agent was cut before its token expired").toBeGreaterThanOrEqual(-100);
    expect(cutMs, "the hub cut the agent long after its token expired").toBeLessThan(3_000);

    // No grace: right after the expiry the control plane refuses the token.
    const me = await trpcQuery("agents.me", created.token);
    const msAfterExpiry = Date.now() - expiry;
    expect(me.status, me.text).toBe(401);
    const error = trpcError(me);
    expect(error.appCode).toBe("TOKEN_EXPIRED");
    // A provisioned token's way back is provisioning, not registering: the message says so.
    expect(error.message).toContain(PROVISIONED_TOKEN_EXPIRED);
    expect(msAfterExpiry).toBeLessThan(5_000);

    // The agent stops for good: its process exits (a process that exited retries nothing).
    await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, what: "the cut agent's process to exit" });
    const connections = hub
      .logs()
      .split("\n")
      .filter((line) => line.includes('"agent connected"') && line.includes(created.agentId));
    expect(connections, "the hub saw the expired agent connect again").toHaveLength(1);

    // The reason, as the CLI documents it: last-stop.json, and `connect status` (which exits non-zero).
    const lastStop = JSON.parse(readFileSync(lastStopPath, "utf8")) as { at: string; reason: string };
    expect(lastStop.reason).toContain(PROVISIONED_TOKEN_EXPIRED);
    const status = await connect(["status", "--json"], { configDir });
    expect(status.code, describeRun(status)).not.toBe(0);
    expect(`${status.stdout}\n${status.stderr}`).toContain(PROVISIONED_TOKEN_EXPIRED);
    const human = await connect(["status"], { configDir });
    expect(human.code, describeRun(human)).not.toBe(0);
    expect(errorLines(human).join("\n")).toContain(`the hub stopped it at ${lastStop.at}: ${PROVISIONED_TOKEN_EXPIRED}`);

    // agent.log: connected once, stopped with the reason, and not one reconnect attempt.
    const log = readFileSync(join(configDir, "agent.log"), "utf8");
    expect(log).toContain(`Stopping: ${PROVISIONED_TOKEN_EXPIRED}`);
    expect(log.match(/Connected to the hub/g)?.length ?? 0).toBe(1);
    expect(log).not.toMatch(/reconnecting/);

    // Nor does `connect up --token` take it again (the hub refuses it before any relay connection).
    const again = await connect(["up", "--token", created.token, "--hub", hub.url, "--detach"], {
      configDir: await newConfigDir("expired-again"),
    });
    expect(again.code, describeRun(again)).not.toBe(0);
    expect(errorLines(again).join("\n")).toContain(PROVISIONED_TOKEN_EXPIRED);
  });

  it("3. --rotate-token on a running agent keeps an open stream; old token dead, new one works", {
    timeout: 60_000,
  }, async () => {
    const echo: TestServer = await startEchoServer();
    const [server, laptop]: [Agent, Agent] = await Promise.all([
      startAgent({ hub, apiKey, label: "server" }),
      startAgent({ hub, apiKey, label: "laptop" }),
    ]);
    remember("agent token of server", readIdentity(server.configDir).token);
    expectSuccess(await server.run(["expose", echo.address, "--name", "echo"]));
    const reached = parseJsonOutput<{ port: number }>(expectSuccess(await laptop.run(["reach", "echo", "--json"])));

    const socket = await connectTcp(reached.port);
    let closedEarly = false;
    socket.once("close", () => {
      closedEarly = true;
    });
    socket.on("error", () => {});
    let rotatedToken = "";
    try {
      await echoOnce(socket, Buffer.from("before the rotation\n"));
      expect(echo.sockets.size).toBe(1);

      const old = readIdentity(laptop.configDir);
      remember("agent token of laptop (before rotation)", old.token);
      const rotated = await laptop.run(["up", "--rotate-token"], { timeoutMs: 30_000 });
      expect(rotated.code, describeRun(rotated)).toBe(0);
      expect(rotated.stdout).toContain("hub connection stayed up");
      const fresh = readIdentity(laptop.configDir);
      remember("agent token of laptop (after rotation)", fresh.token);
      rotatedToken = fresh.token;
      expect(fresh.token).toMatch(HEX64);
      expect(fresh.token).not.toBe(old.token);
      expect(fresh.agentId).toBe(old.agentId);

      // The same TCP connection, through the same relay streams, still echoes.
      await echoOnce(socket, randomBytes(64 * 1024));
      await echoOnce(socket, Buffer.from("after the rotation\n"));
      expect(closedEarly, "the open TCP connection was closed by the rotation").toBe(false);
      expect(echo.connections, "the stream was re-established instead of kept").toBe(1);
      expect((await statusOf(laptop.configDir)).hub.state).toBe("connected");

      // The old token is dead at once; the new one is the agent.
      const oldMe = await trpcQuery("agents.me", old.token);
      expect(oldMe.status, oldMe.text).toBe(401);
      expect(trpcError(oldMe).message).toBe(INVALID_CREDENTIALS);
      const newMe = trpcData<{ agentId: string; isRotationPending: boolean }>(await trpcQuery("agents.me", fresh.token));
      expect(newMe).toMatchObject({ agentId: old.agentId, isRotationPending: false });
      const { rows } = await owner.query("select token_hash, pending_token_hash from agents where id = $1", [old.agentId]);
      expect(rows).toEqual([{ token_hash: sha256Hex(Buffer.from(fresh.token)), pending_token_hash: null }]);
      // Nor does `connect up --token` with the old token (refused by the hub at agents.me).
      const oldUp = await connect(["up", "--token", old.token, "--hub", hub.url, "--detach"], {
        configDir: await newConfigDir("old-token"),
      });
      expect(oldUp.code, describeRun(oldUp)).not.toBe(0);
      expect(errorLines(oldUp).join("\n")).toContain(INVALID_CREDENTIALS);
    } finally {
      socket.destroy();
    }

    // A restart without a key uses the new token, and the saved reach works again.
    expectSuccess(await laptop.down());
    await waitFor(() => isPortFree(reached.port), { timeoutMs: 5_000, what: "the reach port to be released by connect down" });
    const up = await laptop.run(["up", "--detach"], { timeoutMs: 30_000 });
    expect(up.code, describeRun(up)).toBe(0);
    expect(readIdentity(laptop.configDir).token, "connect up replaced the rotated token").toBe(rotatedToken);
    await waitFor(async () => !(await isPortFree(reached.port)), { timeoutMs: 10_000, what: "the reach to be restored" });
    const payload = Buffer.from("after the restart with the rotated token");
    expect(await roundTrip(reached.port, payload, 10_000)).toEqual(payload);
  });

  it("4. a revoked API key is refused at its next use", { timeout: 30_000 }, async () => {
    const created = expectSuccess(
      await runHubCli(hub, ["workspace", "create", "ci-corp", "--owner", "ops@ci.test", "--json"], 60_000),
    );
    const { apiKey: k } = parseJsonOutput<{ apiKey: string }>(created);
    expect(k).toMatch(/^pc_[A-Za-z0-9]{32}$/);
    remember("API key K of ci-corp", k);

    const k2 = trpcData<{ id: string; name: string; prefix: string; key: string }>(
      await trpcMutation("apiKeys.create", k, { name: "ci" }),
    );
    remember("API key K2 of ci-corp", k2.key);
    expect(k2.key).toMatch(/^pc_[A-Za-z0-9]{32}$/);
    expect(k2.key).not.toBe(k);
    expect(k2.name).toBe("ci");
    // K2 works before it is revoked (so the refusal below is the revocation, nothing else).
    const listed = trpcData<Array<{ id: string; name: string }>>(await trpcQuery("apiKeys.list", k2.key));
    expect(listed.map((key) => key.name)).toContain("ci");
    expect(JSON.stringify(listed)).not.toContain(k2.key);

    const revoked = trpcData<{ id: string; revokedAt: string }>(await trpcMutation("apiKeys.revoke", k, { id: k2.id }));
    expect(revoked.id).toBe(k2.id);

    // The very next uses fail: the CLI, the REST route and the control plane.
    const configDir = await newConfigDir("revoked-key");
    const up = await connect(["up", "--hub", hub.url, "--api-key", k2.key, "--label", "ci-runner", "--detach"], { configDir });
    expect(up.code, describeRun(up)).not.toBe(0);
    expect(up.code, describeRun(up)).not.toBeNull();
    const lines = errorLines(up);
    expect(lines.join("\n"), describeRun(up)).toContain(INVALID_CREDENTIALS);
    expect(lines.join("\n")).not.toContain(k2.key);
    expect(readAgentPid(configDir)).toBeNull();
    const registered = await owner.query("select 1 from agents where label = 'ci-runner'");
    expect(registered.rowCount).toBe(0);

    const rest = await provision({ clientType: "cli" }, k2.key);
    expect(rest.status, rest.text).toBe(401);
    const trpc = await trpcQuery("apiKeys.list", k2.key);
    expect(trpc.status, trpc.text).toBe(401);
    expect(trpcError(trpc).message).toBe(INVALID_CREDENTIALS);
    // K itself still works.
    expect((await trpcQuery("apiKeys.list", k)).status).toBe(200);
  });

  it("5. agents.revoke of an exposing agent: its stream resets within 1 s, 4410 with the reason, offline, 401", {
    timeout: 60_000,
  }, async () => {
    const exposing = await openEchoingRawAgent("revoked-server");
    const exposed = await trpcMutation("services.expose", exposing.token, {
      name: "revoked-echo",
      targetHost: "127.0.0.1",
      targetPort: 9,
    });
    expect(exposed.status, exposed.text).toBe(200);
    const laptop = await startAgent({ hub, apiKey, label: "revoke-laptop" });
    const reached = parseJsonOutput<{ port: number }>(expectSuccess(await laptop.run(["reach", "revoked-echo", "--json"])));
    const socket = await connectTcp(reached.port);
    socket.on("error", () => {});
    const socketClosed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
    const relayClosed = closeOf(exposing.raw);
    try {
      // The stream flows through the exposure before the revocation.
      await echoOnce(socket, Buffer.from("flowing before the revocation\n"));
      const listedBefore = trpcData<Array<{ name: string; online: boolean }>>(await trpcQuery("services.list", apiKey));
      expect(listedBefore.find((service) => service.name === "revoked-echo")?.online).toBe(true);

      const revoked = await trpcMutation("agents.revoke", apiKey, { agentId: exposing.agentId });
      const answeredAt = Date.now();
      expect(trpcData<{ agentId: string; label: string }>(revoked)).toMatchObject({
        agentId: exposing.agentId,
        label: "revoked-server",
      });

      // The reaching side's TCP connection is cut within a second of the answer (often before it).
      const closedAt = await Promise.race([
        socketClosed,
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error("the reach stream was still open 1 s after the revocation")), 1_000),
        ),
      ]);
      expect(closedAt - answeredAt).toBeLessThan(1_000);

      // The revoked agent hears why, then its connection closes with AGENT_REVOKED.
      const reason = "This agent was revoked by an owner of acme: ask them to let you in again";
      const close = await relayClosed;
      expect(close).toEqual({ code: CloseCode.AGENT_REVOKED, reason });
      expect(controlMessages(exposing.raw)).toContainEqual({ type: "error", code: "agent_revoked", message: reason });
      // Its own end of the stream was reset too, as revoked, before the close.
      const resets = exposing.raw.frames.filter((frame) => frame.type === FrameType.RST);
      expect(resets.map((frame) => frame.payload.readUInt16BE(0))).toEqual([ResetCode.REVOKED]);

      // The service is offline, and the token is refused by the control plane and the relay.
      await waitFor(
        async () =>
          trpcData<Array<{ name: string; online: boolean }>>(await trpcQuery("services.list", apiKey)).find(
            (service) => service.name === "revoked-echo",
          )?.online === false,
        { timeoutMs: 2_000, intervalMs: 20, what: "the revoked agent's service to show offline" },
      );
      for (const path of ["agents.me", "services.list"]) {
        const refused = await trpcQuery(path, exposing.token);
        expect(refused.status, refused.text).toBe(401);
        expect(trpcError(refused).message).toBe(reason);
      }
      const again = await openRawRelayClient(hub.url, exposing.token).then(
        () => "connected",
        (error: unknown) => String(error),
      );
      expect(again).toMatch(/401/);
      // A new reach to it is refused, not hung: the laptop gets a clean close.
      const late = await connectTcp(reached.port);
      late.on("error", () => {});
      await waitForClose(late, 5_000);

      // Audited with the key that did it.
      const audit = await owner.query(
        "select actor_type, actor_id, reason from audit_events where type = 'agent' and action = 'revoke' and target = $1",
        [exposing.agentId],
      );
      const { rows: keyRows } = await owner.query("select id from api_keys where key_hash = $1", [
        sha256Hex(Buffer.from(apiKey)),
      ]);
      expect(audit.rows).toEqual([{ actor_type: "api_key", actor_id: keyRows[0]?.id, reason: "revoked" }]);
    } finally {
      socket.destroy();
      exposing.raw.ws.terminate();
      expectSuccess(await laptop.down());
    }
  });

  it("6. connect-hub agent list and revoke, through the running hub", { timeout: 60_000 }, async () => {
    const target = await openEchoingRawAgent("ops-target");
    const relayClosed = closeOf(target.raw);
    const listed = parseJsonOutput<{
      workspace: { slug: string };
      agents: Array<{ agentId: string; label: string; online: boolean; createdBy: { type: string; name: string | null } }>;
    }>(expectSuccess(await runHubCli(hub, ["agent", "list", "--workspace", "acme", "--json"])));
    expect(listed.workspace.slug).toBe("acme");
    expect(listed.agents.find((agent) => agent.agentId === target.agentId)).toMatchObject({
      label: "ops-target",
      online: true,
      createdBy: { type: "api_key", name: "default" },
    });
    // The revoked agent of test 5 is gone from the list.
    expect(listed.agents.map((agent) => agent.label)).not.toContain("revoked-server");

    const revoked = expectSuccess(await runHubCli(hub, ["agent", "revoke", "ops-target", "--workspace", "acme"]));
    expect(revoked.stdout).toContain(`Agent ops-target (${target.agentId}) of acme revoked at`);
    // Through the hub that holds the connection: closed at once, not at the next token check.
    expect((await relayClosed).code).toBe(CloseCode.AGENT_REVOKED);
    const me = await trpcQuery("agents.me", target.token);
    expect(me.status, me.text).toBe(401);
    const audit = await owner.query(
      "select actor_type, actor_id from audit_events where type = 'agent' and action = 'revoke' and target = $1",
      [target.agentId],
    );
    expect(audit.rows).toEqual([{ actor_type: "system", actor_id: null }]);

    // With no hub in the data directory it names, the command works on DATABASE_URL itself and
    // says what that means for a connection held by a hub elsewhere.
    const direct = await openEchoingRawAgent("db-direct");
    try {
      const elsewhere = { ...hub, dataDir: join(await makeTempDir("no-hub"), "data") };
      const revokedDirectly = expectSuccess(
        await runHubCli(elsewhere, ["agent", "revoke", direct.agentId, "--workspace", listed.workspace.slug, "--json"]),
      );
      expect(parseJsonOutput<{ agentId: string; label: string }>(revokedDirectly)).toMatchObject({
        agentId: direct.agentId,
        label: "db-direct",
      });
      expect(revokedDirectly.stderr).toContain("closes its open connection within a minute");
      const refused = await trpcQuery("agents.me", direct.token);
      expect(refused.status, refused.text).toBe(401);
      expect(trpcError(refused).message).toMatch(/^This agent was revoked by an owner of acme/);
    } finally {
      direct.raw.ws.terminate();
    }

    // Unknown agent and unknown workspace: a clear error and a non-zero exit.
    const unknown = await runHubCli(hub, ["agent", "revoke", "nobody", "--workspace", "acme"]);
    expect(unknown.code, describeRun(unknown)).not.toBe(0);
    expect(unknown.stderr).toContain("Agent not found");
    const nowhere = await runHubCli(hub, ["agent", "list", "--workspace", "no-such-workspace"]);
    expect(nowhere.code, describeRun(nowhere)).not.toBe(0);
    expect(nowhere.stderr).toContain("Workspace not found");
  });

  it("7. secrets at rest: no key or token of this file is stored in clear in any table", { timeout: 20_000 }, async () => {
    expect(secrets.size, "the earlier tests collected no secrets").toBeGreaterThanOrEqual(8);
    const tables = await owner.query<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
        order by 1, 2`,
    );
    expect(tables.rows.map((t) => t.name)).toEqual(expect.arrayContaining(["agents", "api_keys", "sessions", "magic_links"]));

    const leaks: string[] = [];
    let dump = "";
    for (const { schema, name } of tables.rows) {
      const quoted = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
      // The whole row as JSON text: every column, whatever its type.
      const { rows } = await owner.query<{ row: string }>(`select to_jsonb(t)::text as row from ${quoted} t`);
      for (const { row } of rows) {
        dump += `${row}\n`;
        for (const [what, value] of secrets) {
          if (row.includes(value)) leaks.push(`${what} in ${schema}.${name}: ${row.slice(0, 300)}`);
        }
      }
    }
    expect(leaks).toEqual([]);
    // The scan sees the credentials tables: the hashes of the live key and token are there.
    expect(dump).toContain(sha256Hex(Buffer.from(apiKey)));
    expect(dump).toContain(sha256Hex(Buffer.from(secrets.get("agent token of laptop (after rotation)") ?? "-")));

    // Nor did the hub write any of them to its log.
    const logLeaks = [...secrets].filter(([, value]) => hub.logs().includes(value)).map(([what]) => what);
    expect(logLeaks).toEqual([]);
  });
});
