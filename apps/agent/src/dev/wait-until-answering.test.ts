import { describe, expect, it } from "vitest";
import type { CheckReport, CheckServiceRequest } from "../check/check-service.js";
import { waitUntilAnswering } from "./wait-until-answering.js";

function report(isHealthy: boolean): CheckReport {
  return {
    service: "prod-db",
    protocol: "postgres",
    isProtocolGuessed: true,
    isHealthy,
    openMs: 1,
    probeMs: 1,
    summary: isHealthy ? "PostgreSQL answered" : "no answer",
    details: {},
    ...(isHealthy ? {} : { problem: "nothing answered" }),
  };
}

describe("waitUntilAnswering", () => {
  it("retries until the service answers, passing the port hint and a bounded probe time", async () => {
    const requests: CheckServiceRequest[] = [];
    const outcome = await waitUntilAnswering(
      async (request) => {
        requests.push(request);
        return report(requests.length === 3);
      },
      { service: "prod-db", portHint: 5432 },
      5_000,
    );
    expect(outcome).toMatchObject({ attempts: 3, report: { isHealthy: true } });
    expect(requests.every((request) => request.portHint === 5432 && (request.timeoutMs ?? 0) <= 5_000)).toBe(true);
  });

  it("gives up at the deadline with the last report", async () => {
    const started = Date.now();
    const outcome = await waitUntilAnswering(async () => report(false), { service: "prod-db" }, 600);
    expect(outcome.report).toMatchObject({ isHealthy: false, problem: "nothing answered" });
    expect(outcome.attempts).toBeGreaterThan(1);
    expect(outcome.attempts).toBeLessThan(5);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
