import { describe, expect, it } from "vitest";
import { createFakeMcpAgent } from "../test-support/fake-mcp-agent.js";
import { stopReachTool } from "./stop-reach-tool.js";

describe("stop_reach", () => {
  it("stops the reach of that service (and that --from) only", async () => {
    const fake = createFakeMcpAgent();
    fake.reaches.push(
      { service: "api", host: "127.0.0.1", port: 18080 },
      { service: "api", from: "partner", host: "127.0.0.1", port: 28080 },
    );
    const answer = await stopReachTool.run({ service: "api", from: "partner" }, fake.context());
    expect(answer).toEqual({
      text: "Stopped reaching api from partner",
      structured: { service: "api", from: "partner", stopped: true },
    });
    expect(fake.reaches).toEqual([{ service: "api", host: "127.0.0.1", port: 18080 }]);
  });

  it("passes on the agent's refusal of a service it does not reach", async () => {
    await expect(stopReachTool.run({ service: "api" }, createFakeMcpAgent().context())).rejects.toThrow(/^No reach of "api"/);
  });
});
