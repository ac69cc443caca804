import { describe, expect, it } from "vitest";
import { createFakeMcpAgent, createFakeService } from "../test-support/fake-mcp-agent.js";
import { listServicesTool } from "./list-services-tool.js";

describe("list_services", () => {
  it("lists own and shared services with their online state, and where this agent reaches each", async () => {
    const fake = createFakeMcpAgent();
    fake.services.push(
      createFakeService({ name: "prod-db", online: true }),
      createFakeService({
        name: "prod-db",
        from: "partner",
        shareName: "staging",
        online: false,
        agentId: null,
        agentLabel: null,
      }),
      createFakeService({ name: "cache", online: false }),
    );
    // One reach of the own prod-db, one of partner's, given by its share's name as reach --from takes it.
    fake.reaches.push(
      { service: "prod-db", host: "127.0.0.1", port: 15432 },
      { service: "prod-db", from: "staging", host: "127.0.0.1", port: 25432 },
    );
    const answer = await listServicesTool.run({}, fake.context());
    expect(answer.structured.services).toEqual([
      expect.objectContaining({ name: "prod-db", from: null, online: true, reach: { host: "127.0.0.1", port: 15432 } }),
      expect.objectContaining({ name: "prod-db", from: "partner", online: false, reach: { host: "127.0.0.1", port: 25432 } }),
      expect.objectContaining({ name: "cache", from: null, online: false, reach: null }),
    ]);
    expect(answer.text.split("\n")).toEqual([
      "prod-db: online, reached on 127.0.0.1:15432",
      "prod-db (from partner): offline, reached on 127.0.0.1:25432",
      "cache: offline",
    ]);
  });

  it("says how to get a first service when there is none", async () => {
    const answer = await listServicesTool.run({}, createFakeMcpAgent().context());
    expect(answer.structured.services).toEqual([]);
    expect(answer.text).toMatch(/^No services to reach yet: expose one with connect expose/);
  });

  it("needs the running agent: no status, no list", async () => {
    const fake = createFakeMcpAgent();
    fake.isRunning = false;
    await expect(listServicesTool.run({}, fake.context())).rejects.toMatchObject({ code: "AGENT_NOT_RUNNING" });
  });
});
