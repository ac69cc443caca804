// The hub's AUDIT_RETENTION_DAYS loop: prune at start, then at each interval, report the count,
// survive a failed run, and stop cleanly. Old events come from real reported actions dated in the
// past by the injected clock; the cut-off is the database's own clock.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, openHarness, testEngines } from "../../test-support/harness.js";
import { scheduleAuditPruning } from "./schedule-audit-pruning.js";

const DAY_MS = 86_400_000;
const INTERVAL_MS = 50;

describe.each(testEngines)("audit pruning schedule on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspace: { workspaceId: string; apiKey: string };
  let agentToken: string;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    workspace = await harness.createTestWorkspace("Retention");
    agentToken = (await harness.registerTestAgent(workspace.apiKey, "old-timer")).token;
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** An agent's report of `target`, `ageDays` ago by the injected clock. */
  async function reportAged(target: string, ageDays: number): Promise<void> {
    harness.setNow(new Date(Date.now() - ageDays * DAY_MS));
    try {
      await (await harness.caller(agentToken)).audit.reportAction({ type: "file", action: "allow", target });
    } finally {
      harness.setNow(undefined);
    }
  }

  async function reportedTargets(): Promise<string[]> {
    const { events } = await (await harness.caller(workspace.apiKey)).audit.list({ type: "file" });
    return events.map((event) => event.target ?? "").sort();
  }

  /** Resolves on the next onPruned call (bounded, so a broken timer fails the test, not hangs it). */
  function nextCount(counts: number[], timeoutMs = 5_000): Promise<number> {
    const seen = counts.length;
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const poll = setInterval(() => {
        if (counts.length > seen) {
          clearInterval(poll);
          resolve(counts[seen] ?? -1);
        } else if (Date.now() > deadline) {
          clearInterval(poll);
          reject(new Error("no prune run within the timeout"));
        }
      }, 10);
    });
  }

  it.skipIf(skip)("prunes at start and at every interval, reporting how many events went", async () => {
    await reportAged("two-years-old", 730);
    await reportAged("last-month", 30);
    const counts: number[] = [];
    const errors: unknown[] = [];
    const pruning = scheduleAuditPruning({
      db: harness.db,
      retentionDays: 365,
      intervalMs: INTERVAL_MS,
      onPruned: (count) => counts.push(count),
      onError: (error) => errors.push(error),
    });
    try {
      await pruning.firstRun;
      // The old report, and its token's use recorded with it at the same (injected) time.
      expect(counts[0]).toBe(2);
      expect(await reportedTargets()).toEqual(["last-month"]);

      // An event that has aged past the retention since (here: reported late, dated long ago)
      // goes at a later run, without a restart.
      await reportAged("three-years-old", 1100);
      // Its token-use row may or may not be written (the use is throttled per agent, address
      // and user agent), and a run may fall between the two transactions: wait for the runs
      // that remove the report itself, and count what they pruned.
      let pruned = 0;
      for (let run = 0; run < 20 && (await reportedTargets()).includes("three-years-old"); run++) {
        pruned += await nextCount(counts);
      }
      expect(pruned).toBeGreaterThanOrEqual(1);
      expect(await reportedTargets()).toEqual(["last-month"]);
      expect(errors).toEqual([]);
    } finally {
      await pruning.stop();
    }
    // Stopped: an old event now stays, however many intervals pass.
    await reportAged("after-stop", 800);
    const runs = counts.length;
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 5));
    expect(counts.length).toBe(runs);
    expect(await reportedTargets()).toEqual(["after-stop", "last-month"]);
  });

  it.skipIf(skip)("reports a failed run and keeps the schedule going", async () => {
    const counts: number[] = [];
    const errors: unknown[] = [];
    // A retention the database refuses: every run fails, and every failure is reported.
    const pruning = scheduleAuditPruning({
      db: harness.db,
      retentionDays: 0,
      intervalMs: INTERVAL_MS,
      onPruned: (count) => counts.push(count),
      onError: (error) => errors.push(error),
    });
    try {
      await pruning.firstRun;
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toMatch(/retentionDays must be a whole number from 1 to 3650/);
      await nextCount(errors as number[]);
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(counts).toEqual([]);
    } finally {
      await pruning.stop();
    }
  });
});
