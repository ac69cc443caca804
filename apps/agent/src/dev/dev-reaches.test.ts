import { describe, expect, it } from "vitest";
import { ConnectError } from "../errors.js";
import { createFakeControl } from "../test-support/fake-control.js";
import { bindPlannedReaches } from "./dev-reaches.js";
import type { PlannedReach } from "./plan-reaches.js";

function planned(service: string, port: number, isPresent = false): PlannedReach {
  return { service: { name: service, port }, reach: { service, host: "127.0.0.1", port }, isPresent, isMadeByDev: !isPresent };
}

describe("bindPlannedReaches", () => {
  it("binds what is not there yet and leaves a present reach alone", async () => {
    const control = createFakeControl({
      reach: async (params) => ({ service: params.service, host: "127.0.0.1", port: params.port ?? 0 }),
    });
    const made = await bindPlannedReaches(control, [planned("db", 5432, true), planned("cache", 6379)], () => {});
    expect(made).toEqual([{ service: "cache", host: "127.0.0.1", port: 6379 }]);
    expect(control.calls.map(({ method }) => method)).toEqual(["reach"]);
  });

  it("unbinds what it bound when a later reach fails, and says that nothing was left reached", async () => {
    const control = createFakeControl({
      reach: async (params) => {
        if (params.service === "ghost") throw new ConnectError("SERVICE_NOT_FOUND", "Service not found");
        return { service: params.service, host: "127.0.0.1", port: params.port ?? 0 };
      },
      stopReach: async () => ({ stopped: true }),
    });
    await expect(bindPlannedReaches(control, [planned("db", 5432), planned("ghost", 7000)], () => {})).rejects.toThrow(
      "Service not found: this agent can reach no service ghost; list the ones it can with connect services (nothing was left reached)",
    );
    expect(control.calls).toEqual([
      { method: "reach", params: { service: "db", host: "127.0.0.1", port: 5432 } },
      { method: "reach", params: { service: "ghost", host: "127.0.0.1", port: 7000 } },
      { method: "stopReach", params: { service: "db" } },
    ]);
  });

  it("keeps unbinding the others when one stop fails, and says how to stop that one by hand", async () => {
    const warnings: string[] = [];
    const control = createFakeControl({
      reach: async (params) => {
        if (params.service === "late") throw new ConnectError("PORT_IN_USE", "Port 7002 is already in use");
        return { service: params.service, host: "127.0.0.1", port: params.port ?? 0 };
      },
      stopReach: async (params) => {
        if (params.service === "a") throw new ConnectError("CONTROL_FAILED", "agent busy");
        return { stopped: true };
      },
    });
    await expect(
      bindPlannedReaches(control, [planned("a", 7000), planned("b", 7001), planned("late", 7002)], (line) => warnings.push(line)),
    ).rejects.toThrow("Port 7002 is already in use (reaching late; nothing was left reached)");
    expect(control.calls.filter(({ method }) => method === "stopReach").map(({ params }) => params)).toEqual([
      { service: "a" },
      { service: "b" },
    ]);
    expect(warnings).toEqual(["Could not stop reaching a: agent busy; stop it with connect reach --stop a"]);
  });
});
