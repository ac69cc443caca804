import { describe, expect, it } from "vitest";
import {
  checkWorkersEnvironment,
  MAX_WORKERS,
  nextRestartDelay,
  parseWorkerCount,
  WorkersError,
  workerHubIdBase,
} from "./workers.js";

describe("parseWorkerCount", () => {
  it("is one hub without --workers", () => {
    expect(parseWorkerCount(undefined, 8)).toBe(1);
  });

  it("takes a count of processes", () => {
    expect(parseWorkerCount("1", 8)).toBe(1);
    expect(parseWorkerCount("3", 8)).toBe(3);
    expect(parseWorkerCount(String(MAX_WORKERS), 8)).toBe(MAX_WORKERS);
  });

  it("makes auto one worker per core", () => {
    expect(parseWorkerCount("auto", 6)).toBe(6);
    expect(parseWorkerCount("auto", 1)).toBe(1);
    expect(parseWorkerCount("auto", 4 * MAX_WORKERS)).toBe(MAX_WORKERS);
  });

  it.each(["0", "-2", "1.5", "two", "", "3x", " 2", String(MAX_WORKERS + 1), "1e2"])(
    "refuses %j, saying what it takes",
    (value) => {
      expect(() => parseWorkerCount(value, 4)).toThrow(WorkersError);
      expect(() => parseWorkerCount(value, 4)).toThrow(
        `Invalid --workers "${value}": use a number of hub processes from 1 to ${MAX_WORKERS}, or auto (one per core, 4 here)`,
      );
    },
  );
});

describe("checkWorkersEnvironment", () => {
  const complete = { REDIS_URL: "redis://127.0.0.1:6379", DATABASE_URL: "postgresql://db/hub" };

  it("accepts Redis and PostgreSQL", () => {
    expect(() => checkWorkersEnvironment(complete)).not.toThrow();
  });

  it("refuses without REDIS_URL", () => {
    expect(() => checkWorkersEnvironment({ ...complete, REDIS_URL: undefined })).toThrow(
      "--workers needs REDIS_URL: the workers share state through Redis, see docs/cluster.md",
    );
  });

  it("refuses without DATABASE_URL (PGlite serves one process)", () => {
    expect(() => checkWorkersEnvironment({ ...complete, DATABASE_URL: undefined })).toThrow(
      "--workers needs DATABASE_URL: the embedded PGlite database serves one process",
    );
  });
});

describe("workerHubIdBase", () => {
  const hubIdPattern = /^[A-Za-z0-9_.-]{1,64}$/;

  it("is HUB_ID when set", () => {
    expect(workerHubIdBase("edge-a", 3001, "box")).toBe("edge-a");
  });

  it("is <hostname>-<port> like a single hub's, else", () => {
    expect(workerHubIdBase(undefined, 3001, "box.example.com")).toBe("box.example.com-3001");
  });

  it("uses the primary's pid on port 0, where the port is not known yet", () => {
    expect(workerHubIdBase(undefined, 0, "box")).toBe(`box-pid${process.pid}`);
  });

  it("leaves room for the worker suffix within HUB_ID's 64 characters and its alphabet", () => {
    const ids = [
      `${workerHubIdBase("h".repeat(64), 3001)}-w${MAX_WORKERS - 1}`,
      `${workerHubIdBase(undefined, 65535, "n".repeat(80))}-w${MAX_WORKERS - 1}`,
      `${workerHubIdBase(undefined, 0, "odd host_name!")}-w0`,
    ];
    for (const id of ids) expect(id).toMatch(hubIdPattern);
    expect(ids[2]).toBe(`odd-host_name--pid${process.pid}-w0`);
  });
});

describe("nextRestartDelay", () => {
  it("restarts at once a worker that ran a while", () => {
    expect(nextRestartDelay(60_000, 0)).toBe(0);
    expect(nextRestartDelay(60_000, 16_000)).toBe(0);
  });

  it("backs off, doubling up to 30 s, while a worker keeps dying at once", () => {
    const delays: number[] = [];
    let delay = 0;
    for (let death = 0; death < 8; death++) {
      delay = nextRestartDelay(500, delay);
      delays.push(delay);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
});
