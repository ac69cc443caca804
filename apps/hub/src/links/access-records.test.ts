import type { LinkAccess } from "@private-connect/api";
import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { type AccessRecord, auditPath, createAccessRecords } from "./access-records.js";

const LINK = { id: "link-1", workspaceId: "ws-1", serviceName: "api", slugHint: "abcd" };
const ACCESS: AccessRecord = { ip: "203.0.113.9", method: "GET", path: "/", status: 200, durationMs: 3, isServed: true };

/** A logger that keeps its warnings, to see what an operator would. */
function recordingLog() {
  const warnings: { dropped?: number; msg: string }[] = [];
  const log = createLogger("warn", { write: (line: string) => warnings.push(JSON.parse(line)) });
  return { log, warnings };
}

describe("createAccessRecords", () => {
  it("writes each access with the link's fields and the time", async () => {
    const written: LinkAccess[] = [];
    const { log } = recordingLog();
    const records = createAccessRecords({ write: async (access) => void written.push(access), log, maxPending: 4 });
    records.record(LINK, ACCESS);
    await Promise.resolve();
    expect(written).toEqual([
      { ...ACCESS, linkId: "link-1", workspaceId: "ws-1", serviceName: "api", slugHint: "abcd", at: expect.any(Date) },
    ]);
  });

  it("drops records past the pending bound, says so, and takes more once writes finish", async () => {
    const finishers: (() => void)[] = [];
    const write = () => new Promise<void>((resolve) => finishers.push(resolve));
    const { log, warnings } = recordingLog();
    const records = createAccessRecords({ write, log, maxPending: 2 });
    for (let count = 0; count < 5; count++) records.record(LINK, ACCESS);
    expect(finishers).toHaveLength(2);
    expect(warnings.map((warning) => warning.dropped)).toEqual([1]);
    for (const finish of finishers.splice(0)) finish();
    // The pending count drops in the writes' finally, a few turns after they resolved.
    await new Promise((resolve) => setImmediate(resolve));
    records.record(LINK, ACCESS);
    expect(finishers).toHaveLength(1);
  });

  it("logs a failed write instead of failing the request", async () => {
    const { log, warnings } = recordingLog();
    const records = createAccessRecords({ write: async () => Promise.reject(new Error("database down")), log, maxPending: 1 });
    records.record(LINK, ACCESS);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toMatchObject([{ msg: "could not record a link access" }]);
  });
});

describe("auditPath", () => {
  it("records the path without its query, bounded", () => {
    expect(auditPath("/a/b?token=secret")).toBe("/a/b");
    expect(auditPath(`/${"x".repeat(600)}`)).toHaveLength(512);
  });
});
