import { describe, expect, it } from "vitest";
import type { ControlMethods } from "../daemon/control-protocol.js";
import { ConnectError } from "../errors.js";
import { createFakeControl } from "../test-support/fake-control.js";
import { startFakeService } from "../test-support/fake-service.js";
import { checkService } from "./check-service.js";

function statusWith(reaches: { service: string; host: string; port: number }[]) {
  return async () =>
    ({ hub: { url: "http://127.0.0.1:1", state: "connected" }, reaches }) as unknown as ControlMethods["status"]["result"];
}

describe("checkService", () => {
  it("guesses the protocol from the target port the hub lists, and stops the temporary reach it made", async () => {
    const redis = await startFakeService((socket) => socket.on("data", () => socket.write("+PONG\r\n")));
    try {
      const control = createFakeControl({
        lookupService: async () => ({ service: { name: "cache", isOnline: true, targetPort: 6379 } }),
        status: statusWith([]),
        reach: async () => ({ service: "cache", host: "127.0.0.1", port: redis.port }),
        waitStreamOpen: async () => ({ isAnswered: true, isOpened: true, openMs: 7.25 }),
        stopReach: async () => ({ stopped: true }),
      });
      const report = await checkService(control, { service: "cache", timeoutMs: 2_000 });
      expect(report).toMatchObject({ protocol: "redis", isProtocolGuessed: true, isHealthy: true, openMs: 7.3 });
      expect(control.calls.filter((call) => call.method === "stopReach")).toEqual([
        { method: "stopReach", params: { service: "cache" } },
      ]);
    } finally {
      await redis.close();
    }
  });

  it("uses the user's own reach and leaves it alone, even when the probe fails", async () => {
    const silent = await startFakeService(() => {});
    try {
      const control = createFakeControl({
        lookupService: async () => ({ service: { name: "web", isOnline: true } }),
        status: statusWith([{ service: "web", host: "0.0.0.0", port: silent.port }]),
        waitStreamOpen: async () => ({ isAnswered: true, isOpened: true, openMs: 3 }),
      });
      const report = await checkService(control, { service: "web", protocol: "http", timeoutMs: 300 });
      expect(report).toMatchObject({ isHealthy: false, isProtocolGuessed: false });
      expect(report.problem).toMatch(/went quiet: an HTTP answer did not come within the timeout/);
      expect(control.calls.map((call) => call.method)).not.toContain("reach");
      expect(control.calls.map((call) => call.method)).not.toContain("stopReach");
    } finally {
      await silent.close();
    }
  });

  it("reports the hub's refusal of the open, and stops the temporary reach", async () => {
    const target = await startFakeService((socket) => socket.destroy());
    try {
      const control = createFakeControl({
        lookupService: async () => ({ service: { name: "db", isOnline: true, targetPort: 5432 } }),
        status: statusWith([]),
        reach: async () => ({ service: "db", host: "127.0.0.1", port: target.port }),
        waitStreamOpen: async () => ({
          isAnswered: true,
          isOpened: false,
          openMs: 4,
          refusal: { code: 3, reason: "Cannot connect to 127.0.0.1:5432: ECONNREFUSED" },
        }),
        stopReach: async () => ({ stopped: true }),
      });
      const report = await checkService(control, { service: "db" });
      expect(report).toMatchObject({ isHealthy: false, openMs: 4, probeMs: null, protocol: "postgres" });
      expect(report.problem).toMatch(
        /^The agent exposing db cannot connect to it \(Cannot connect to 127.0.0.1:5432: ECONNREFUSED\)/,
      );
      expect(control.calls.map((call) => call.method)).toContain("stopReach");
    } finally {
      await target.close();
    }
  });

  it("says an offline service is offline without opening anything", async () => {
    const control = createFakeControl({
      lookupService: async () => ({ service: { name: "prod-db", isOnline: false, agentLabel: "db-1", targetPort: 5432 } }),
    });
    const report = await checkService(control, { service: "prod-db" });
    expect(report).toMatchObject({ isHealthy: false, openMs: null, protocol: "postgres" });
    expect(report.problem).toBe(
      "prod-db is offline: its agent db-1 is not connected to the hub; start it there with connect up, and see connect services",
    );
    expect(control.calls.map((call) => call.method)).toEqual(["lookupService"]);
  });

  it("passes on that no agent is running, as an error", async () => {
    const control = createFakeControl({
      lookupService: async () => {
        throw new ConnectError("AGENT_NOT_RUNNING", "No agent is running for /x: start one with connect up");
      },
    });
    await expect(checkService(control, { service: "db" })).rejects.toThrow(/start one with connect up/);
  });

  it("lets --protocol win over the ports, and a port hint that names a protocol win over the hub's port", async () => {
    const control = createFakeControl({
      lookupService: async () => ({ service: { name: "x", isOnline: false, targetPort: 5432 } }),
    });
    expect((await checkService(control, { service: "x", protocol: "tls" })).protocol).toBe("tls");
    expect((await checkService(control, { service: "x", portHint: 6379 })).protocol).toBe("redis");
    // A local port moved off the usual one says nothing; the port it is exposed from still does.
    expect((await checkService(control, { service: "x", portHint: 25432 })).protocol).toBe("postgres");
    expect((await checkService(control, { service: "x" })).protocol).toBe("postgres");
  });

  it("falls back to raw TCP when no port it knows of names a protocol", async () => {
    const control = createFakeControl({
      lookupService: async () => ({ service: { name: "x", isOnline: false, targetPort: 7001 } }),
    });
    const report = await checkService(control, { service: "x", portHint: 25432 });
    expect([report.protocol, report.isProtocolGuessed]).toEqual(["tcp", true]);
  });
});
