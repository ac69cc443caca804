import { describe, expect, it } from "vitest";
import { createFakeMcpAgent, createFakeService } from "../test-support/fake-mcp-agent.js";
import { reachServiceTool } from "./reach-service-tool.js";

describe("reach_service", () => {
  it("asks the agent to listen on loopback only and returns the host and port", async () => {
    const fake = createFakeMcpAgent();
    fake.services.push(
      createFakeService({ name: "api", from: "partner", shareName: "staging", agentId: null, agentLabel: null }),
    );
    const input = reachServiceTool.inputSchema.parse({ service: " api ", from: "partner", port: 18080 });
    const answer = await reachServiceTool.run(input, fake.context());
    expect(fake.controlCalls).toEqual([
      { method: "reach", params: { service: "api", host: "127.0.0.1", port: 18080, from: "partner" } },
    ]);
    expect(answer.structured).toEqual({ service: "api", from: "partner", host: "127.0.0.1", port: 18080, online: true });
    expect(answer.text).toBe("Reaching api from partner on 127.0.0.1:18080");
  });

  it("has no host argument: an AI client cannot bind a reach to the network", () => {
    expect(Object.keys(reachServiceTool.inputSchema.shape)).toEqual(["service", "from", "port"]);
  });

  it("warns when the service is offline, and reaches it all the same", async () => {
    const fake = createFakeMcpAgent();
    fake.services.push(createFakeService({ name: "cache", online: false }));
    const answer = await reachServiceTool.run({ service: "cache" }, fake.context());
    expect(answer.structured).toMatchObject({ service: "cache", port: 40001, online: false });
    expect(answer.text).toMatch(/^Reaching cache on 127\.0\.0\.1:40001 \(offline now: /);
  });

  it("answers without online when the hub cannot say, and logs why", async () => {
    const fake = createFakeMcpAgent();
    fake.services.push(createFakeService({ name: "cache" }));
    const context = fake.context();
    fake.isHubFailing = true;
    const answer = await reachServiceTool.run({ service: "cache" }, context);
    expect(answer.structured).toEqual({ service: "cache", host: "127.0.0.1", port: 40001 });
    expect(context.logs).toEqual([expect.stringMatching(/^Could not check whether cache is online: Cannot reach the hub/)]);
  });

  it("turns Service not found into the next step: list_services", async () => {
    const fake = createFakeMcpAgent();
    await expect(reachServiceTool.run({ service: "nope", from: "partner" }, fake.context())).rejects.toThrow(
      "Service not found: this agent can reach no service nope from partner; call list_services for the ones it can",
    );
  });
});
