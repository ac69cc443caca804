// The audit trail end to end, with the real hub and agents: events caused by `connect up`,
// `expose`, `reach` and actions an AI agent runtime reports through the SDK, read back with
// `connect audit` (table, filters, --json, --stats), from its own workspace only, and with the
// hub pruning by AUDIT_RETENTION_DAYS at start. Then `connect agents list` and `connect agents
// revoke` on the same hub: a revoked agent is cut by the hub, stops for good and is audited.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { reportAction, Agent as SdkAgent } from "@private-connect/agent";
import { beforeAll, describe, expect, it } from "vitest";
import { roundTrip, startEchoServer, type TestServer, waitFor } from "../support/net.ts";
import {
  type Agent,
  type CommandResult,
  createWorkspace,
  errorLines,
  expectSuccess,
  type Hub,
  isAlive,
  parseJsonOutput,
  startAgent,
  startHub,
  waitForPidExit,
} from "../support/processes.ts";

interface AuditEventJson {
  id: string;
  occurredAt: string;
  type: string;
  action: string;
  actor: { type: string; id: string | null };
  clientType: string | null;
  target: string | null;
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
  data: Record<string, unknown>;
}

interface AuditStatsJson {
  since: string | null;
  total: number;
  byType: { type: string; count: number }[];
  byAction: { action: string; count: number }[];
}

/** Bytes that cross the relay and must never show up in the audit log. */
const PAYLOAD_CANARY = `payload-canary-${Date.now()}-do-not-log`;
const TABLE_HEADER = /^Timestamp\s+Type\s+Action\s+Target\s+Reason$/;

let hub: Hub;
let server: Agent;
let laptop: Agent;
let outsider: Agent;
let echo: TestServer;
let laptopIdentity: { agentId: string; token: string };
let serverAgentId: string;
/** acme's API key, for agents started after the set-up. */
let acmeApiKey: string;

function readIdentity(agent: Agent): { agentId: string; token: string } {
  return JSON.parse(readFileSync(join(agent.configDir, "identity.json"), "utf8"));
}

async function auditJson(agent: Agent, args: string[] = []): Promise<AuditEventJson[]> {
  return parseJsonOutput<AuditEventJson[]>(expectSuccess(await agent.run(["audit", ...args, "--json"])));
}

/** The table's data rows (header and blank lines dropped), each split into its columns. */
function tableRows(result: CommandResult): string[][] {
  const lines = result.stdout.split("\n").filter((line) => line.trim() !== "");
  expect(lines[0], result.stdout).toMatch(TABLE_HEADER);
  return lines.slice(1).map((line) => line.split(/ {2,}/));
}

function expectFailure(result: CommandResult, message: RegExp): void {
  expect(result.code, `${result.command}\n${result.stdout}\n${result.stderr}`).not.toBe(0);
  expect(errorLines(result).join("\n")).toMatch(message);
}

beforeAll(async () => {
  hub = await startHub({ env: { AUDIT_RETENTION_DAYS: "30" } });
  const acme = await createWorkspace(hub, "acme", "ops@acme.test");
  const globex = await createWorkspace(hub, "globex", "ops@globex.test");
  acmeApiKey = acme.apiKey;
  [server, laptop, outsider] = await Promise.all([
    startAgent({ hub, apiKey: acme.apiKey, label: "db-server" }),
    startAgent({ hub, apiKey: acme.apiKey, label: "laptop" }),
    startAgent({ hub, apiKey: globex.apiKey, label: "outsider" }),
  ]);
  laptopIdentity = readIdentity(laptop);
  serverAgentId = readIdentity(server).agentId;
  echo = await startEchoServer();
  expectSuccess(await server.run(["expose", echo.address, "--name", "audit-echo"]));
  const reached = parseJsonOutput<{ port: number }>(expectSuccess(await laptop.run(["reach", "audit-echo", "--json"])));
  const payload = Buffer.from(PAYLOAD_CANARY);
  expect(await roundTrip(reached.port, payload)).toEqual(payload);

  // An AI agent runtime on the laptop reports what its guard decided, through the SDK: the
  // standalone function with the saved identity, and an Agent's own method.
  const options = { hubUrl: hub.url, token: laptopIdentity.token };
  await reportAction(options, { type: "command", action: "allow", target: "git status" });
  await reportAction(options, {
    type: "file",
    action: "review",
    target: "/srv/app/.env",
    reason: "secrets file: a person should look",
    data: { bytes: 312 },
  });
  await reportAction(options, { type: "network", action: "block", target: "evil.example:443", reason: "not on the allow list" });
  await new SdkAgent({ hubUrl: hub.url, token: laptopIdentity.token }).reportAction({
    type: "file",
    action: "block",
    target: "/etc/shadow",
    reason: "outside the project",
  });
}, 180_000);

describe("connect audit", () => {
  it("prunes by AUDIT_RETENTION_DAYS when the hub starts, and says how many events went", async () => {
    const line = await waitFor(
      () =>
        hub
          .logs()
          .split("\n")
          .find((text) => text.includes("pruned audit events older than the retention")),
      { what: "the hub's prune log line" },
    );
    expect(JSON.parse(line)).toMatchObject({ pruned: 0, retentionDays: 30 });
  });

  it("prints a table of the workspace's events, newest first, with what the runtime reported", async () => {
    const result = expectSuccess(await laptop.run(["audit"]));
    const rows = tableRows(result);
    const reported = rows.filter((row) => ["file", "command", "network"].includes(row[1] ?? ""));
    expect(reported).toEqual([
      [expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/), "file", "block", "/etc/shadow", "outside the project"],
      [expect.any(String), "network", "block", "evil.example:443", "not on the allow list"],
      [expect.any(String), "file", "review", "/srv/app/.env", "secrets file: a person should look"],
      [expect.any(String), "command", "allow", "git status", "-"],
    ]);
    const times = rows.map((row) => row[0] ?? "");
    expect(times).toEqual([...times].sort().reverse());
    // What the hub recorded itself is in the same log: the exposure, the agents' connections.
    expect(rows).toContainEqual([expect.any(String), "service", "expose", "audit-echo", "-"]);
    expect(rows).toContainEqual([expect.any(String), "agent", "connect", serverAgentId, "-"]);
    expect(result.stdout).not.toContain(PAYLOAD_CANARY);
  });

  it("filters by type, action and period", async () => {
    const blocked = tableRows(expectSuccess(await laptop.run(["audit", "--type", "file", "--action", "block", "--since", "1h"])));
    expect(blocked.map((row) => row.slice(1))).toEqual([["file", "block", "/etc/shadow", "outside the project"]]);
    const blocks = tableRows(expectSuccess(await laptop.run(["audit", "--action", "block"])));
    expect(blocks.map((row) => row[3])).toEqual(["/etc/shadow", "evil.example:443"]);
    const limited = tableRows(expectSuccess(await laptop.run(["audit", "--limit", "2"])));
    expect(limited).toHaveLength(2);
    // Everything above happened in the last few minutes; an ISO time after it all shows nothing.
    const later = expectSuccess(await laptop.run(["audit", "--since", new Date(Date.now() + 60_000).toISOString()]));
    expect(later.stdout).toMatch(/No audit events match/);
  });

  it("gives scripts every field with --json, including the agent, its client type and where it called from", async () => {
    const files = await auditJson(laptop, ["--type", "file"]);
    expect(files.map((event) => [event.action, event.target])).toEqual([
      ["block", "/etc/shadow"],
      ["review", "/srv/app/.env"],
    ]);
    expect(files[1]).toMatchObject({
      actor: { type: "agent", id: laptopIdentity.agentId },
      clientType: "cli",
      ip: "127.0.0.1",
      reason: "secrets file: a person should look",
      data: { bytes: 312 },
    });
    const all = await auditJson(laptop, ["--limit", "1000"]);
    // The hub's own record of the same run: registrations, connections, the exposure, and the
    // tokens' use over the relay and the control plane (throttled, so few rows).
    const seen = new Set(all.map((event) => `${event.type}/${event.action}`));
    for (const kind of ["agent/register", "agent/connect", "service/expose", "token/use"]) expect(seen).toContain(kind);
    const laptopUses = all.filter((event) => event.type === "token" && event.target === laptopIdentity.agentId);
    expect(new Set(laptopUses.map((event) => event.data.via))).toEqual(new Set(["relay", "api"]));
    expect(laptopUses.find((event) => event.data.via === "relay")?.userAgent).toMatch(/^private-connect-agent\//);
    expect(laptopUses.length).toBeLessThanOrEqual(4);
    expect(JSON.stringify(all)).not.toContain(PAYLOAD_CANARY);
    expect(JSON.stringify(all)).not.toContain(laptopIdentity.token);
  });

  it("counts by type and by action with --stats, matching the listed events", async () => {
    const text = expectSuccess(await laptop.run(["audit", "--stats", "--since", "1h"])).stdout;
    expect(text).toMatch(/^\d+ audit events since \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/m);
    expect(text).toMatch(/^Type\s+Count$/m);
    expect(text).toMatch(/^file\s+2$/m);
    expect(text).toMatch(/^network\s+1$/m);
    expect(text).toMatch(/^Action\s+Count$/m);
    expect(text).toMatch(/^review\s+1$/m);

    const stats = parseJsonOutput<AuditStatsJson>(expectSuccess(await laptop.run(["audit", "--stats", "--json"])));
    const listed = await auditJson(laptop, ["--limit", "1000"]);
    expect(stats.since).toBeNull();
    expect(stats.total).toBe(listed.length);
    const count = (key: "type" | "action", value: string) => listed.filter((event) => event[key] === value).length;
    for (const group of stats.byType) expect(group.count, group.type).toBe(count("type", group.type));
    for (const group of stats.byAction) expect(group.count, group.action).toBe(count("action", group.action));
    expect(stats.byAction.find((group) => group.action === "block")?.count).toBe(2);

    const blocks = parseJsonOutput<AuditStatsJson>(
      expectSuccess(await laptop.run(["audit", "--stats", "--action", "block", "--json"])),
    );
    expect(blocks).toMatchObject({ total: 2, byAction: [{ action: "block", count: 2 }] });
    expect(blocks.byType).toEqual(
      expect.arrayContaining([
        { type: "file", count: 1 },
        { type: "network", count: 1 },
      ]),
    );
  });

  it("works without the agent running, from the saved identity", async () => {
    expectSuccess(await laptop.down());
    const rows = tableRows(expectSuccess(await laptop.run(["audit", "--type", "command"])));
    expect(rows.map((row) => row.slice(1))).toEqual([["command", "allow", "git status", "-"]]);
  });

  it("shows another workspace none of these events", async () => {
    const theirs = await auditJson(outsider, ["--limit", "1000"]);
    expect(theirs.length).toBeGreaterThan(0);
    const text = JSON.stringify(theirs);
    for (const mine of ["/etc/shadow", "audit-echo", laptopIdentity.agentId, serverAgentId]) expect(text).not.toContain(mine);
    const stats = parseJsonOutput<AuditStatsJson>(expectSuccess(await outsider.run(["audit", "--stats", "--json"])));
    expect(stats.byType.map((group) => group.type)).not.toContain("file");
    expect(stats.total).toBe(theirs.length);
  });

  it("explains a bad --since or --limit in one line", async () => {
    expectFailure(await outsider.run(["audit", "--since", "yesterday"]), /--since takes a duration like 90m, 12h, 7d or 2w/);
    expectFailure(await outsider.run(["audit", "--limit", "0"]), /--limit/);
    expectFailure(await outsider.run(["audit", "--limit", "1001"]), /--limit/);
  });
});

interface AgentJson {
  agentId: string;
  label: string;
  online: boolean;
  lastSeenAt: string | null;
  lastIp: string | null;
  tokenExpiresAt: string;
  tokenMaxExpiresAt: string;
  createdBy: { type: string; id: string | null; name: string | null };
}

describe("connect agents", () => {
  it("lists the workspace's agents with what created them, their last use and masked address", async () => {
    const result = expectSuccess(await server.run(["agents", "list"]));
    const lines = result.stdout.split("\n").filter((line) => line.trim() !== "");
    expect(lines[0]).toMatch(/^Label\s+Status\s+Created by\s+Last seen\s+Address\s+Token expires\s+Id$/);
    const rows = lines.slice(1).map((line) => line.split(/ {2,}/));
    const mine = rows.find((row) => row[0] === "db-server (this machine)");
    expect(mine?.slice(1, 5)).toEqual(["online", expect.stringMatching(/^key \S/), "now", "127.0.x.x"]);
    // The laptop went down earlier in this file: offline, last seen at a time, still masked.
    const laptopRow = rows.find((row) => row[0] === "laptop");
    expect(laptopRow?.[1]).toBe("offline");
    expect(laptopRow?.[3]).toMatch(/^\d{4}-\d{2}-\d{2}T/);

    const agents = parseJsonOutput<AgentJson[]>(expectSuccess(await server.run(["agents", "list", "--json"])));
    const serverJson = agents.find((agent) => agent.agentId === serverAgentId);
    expect(serverJson?.createdBy).toMatchObject({ type: "api_key", id: expect.any(String), name: expect.any(String) });
    expect(Date.parse(serverJson?.tokenMaxExpiresAt ?? "")).toBeGreaterThan(Date.parse(serverJson?.tokenExpiresAt ?? ""));
    expect(JSON.stringify(agents)).not.toContain("127.0.0.1");
    // Another workspace sees only its own.
    const theirs = parseJsonOutput<AgentJson[]>(expectSuccess(await outsider.run(["agents", "list", "--json"])));
    expect(theirs.map((agent) => agent.label)).toEqual(["outsider"]);
  });

  it("revokes an agent: the hub cuts it with the reason, it stops for good, its token is refused, and it is audited", async () => {
    const doomed = await startAgent({ hub, apiKey: acmeApiKey, label: "doomed" });
    const doomedIdentity = readIdentity(doomed);
    const pid = doomed.pid();
    expect(pid).not.toBeNull();

    // Another workspace cannot even tell that the agent exists.
    expectFailure(await outsider.run(["agents", "revoke", doomedIdentity.agentId]), /^Error: Agent not found/);
    expectFailure(await outsider.run(["agents", "revoke", "doomed"]), /No agent labelled "doomed"/);
    expect(isAlive(pid ?? 0)).toBe(true);

    const revoked = parseJsonOutput<{ agentId: string; label: string; revokedAt: string }>(
      expectSuccess(await server.run(["agents", "revoke", "doomed", "--json"])),
    );
    expect(revoked).toMatchObject({ agentId: doomedIdentity.agentId, label: "doomed" });

    // The agent stops on its own: the hub closed its connection and it does not redial.
    expect(await waitForPidExit(pid ?? 0, 10_000)).toBe(true);
    const reason = /This agent was revoked by an owner of acme[^\n]*: ask them to let you in again/;
    expect(readFileSync(join(doomed.configDir, "agent.log"), "utf8")).toMatch(new RegExp(`Stopping: ${reason.source}`));
    expectFailure(await doomed.run(["status"]), new RegExp(`the hub stopped it at \\S+: ${reason.source}`));
    expectFailure(await doomed.run(["up"]), reason);
    expectFailure(await doomed.run(["agents", "list"]), reason);

    // The hub refuses the token whoever sends it.
    const me = await fetch(`${hub.url}/trpc/agents.me`, { headers: { authorization: `Bearer ${doomedIdentity.token}` } });
    expect(me.status).toBe(401);

    const left = parseJsonOutput<AgentJson[]>(expectSuccess(await server.run(["agents", "list", "--json"])));
    expect(left.map((agent) => agent.label)).not.toContain("doomed");
    // Revoking twice answers the first revocation.
    const again = await server.run(["agents", "revoke", doomedIdentity.agentId, "--json"]);
    expect(parseJsonOutput<{ revokedAt: string }>(expectSuccess(again)).revokedAt).toBe(revoked.revokedAt);

    const events = await auditJson(server, ["--type", "agent", "--action", "revoke"]);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]?.actor).toEqual({ type: "agent", id: serverAgentId });
  });
});
