import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, openHarness, testEngines } from "../../test-support/harness.js";
import { DUPLICATE_CONNECTION_REASON, recordDuplicateConnection } from "./record-duplicate-connection.js";

describe.each(testEngines)("recordDuplicateConnection on $name", ({ name, skip }) => {
  let harness: Harness;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("records both addresses and hubs in the agent's workspace, where the audit log lists it", async () => {
    const workspace = await harness.createTestWorkspace();
    const outsider = await harness.createTestWorkspace();
    const { agentId } = await harness.registerTestAgent(workspace.apiKey, "build-box");
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    harness.setNow(now);
    try {
      await recordDuplicateConnection(
        harness.deps,
        { agentId, workspaceId: workspace.workspaceId, label: "build-box", clientType: "cli" },
        { previousIp: "::ffff:10.0.0.1", newIp: "203.0.113.9", previousHubId: "hub-a", hubId: "hub-b" },
      );
    } finally {
      harness.setNow(undefined);
    }

    const { events } = await (await harness.caller(workspace.apiKey)).audit.list({ action: "duplicate_connection" });
    expect(events).toEqual([
      {
        id: expect.any(String),
        occurredAt: now.toISOString(),
        type: "token",
        action: "duplicate_connection",
        actor: { type: "agent", id: agentId },
        clientType: "cli",
        target: agentId,
        reason: DUPLICATE_CONNECTION_REASON,
        ip: "203.0.113.9",
        userAgent: null,
        data: {
          agentId,
          label: "build-box",
          previousIp: "10.0.0.1",
          newIp: "203.0.113.9",
          previousHubId: "hub-a",
          hubId: "hub-b",
        },
      },
    ]);
    // Another workspace's log does not hear of it.
    const outside = await (await harness.caller(outsider.apiKey)).audit.list({ action: "duplicate_connection" });
    expect(outside.events).toEqual([]);
  });

  it.skipIf(skip)("records a duplicate on one hub without hub ids, and an unknown address as null", async () => {
    const workspace = await harness.createTestWorkspace();
    const { agentId } = await harness.registerTestAgent(workspace.apiKey, "laptop");
    await recordDuplicateConnection(
      harness.deps,
      { agentId, workspaceId: workspace.workspaceId, label: "laptop" },
      { newIp: "198.51.100.4" },
    );
    const { events } = await (await harness.caller(workspace.apiKey)).audit.list({
      type: "token",
      action: "duplicate_connection",
    });
    expect(events.map((event) => event.data)).toEqual([{ agentId, label: "laptop", previousIp: null, newIp: "198.51.100.4" }]);
  });
});
