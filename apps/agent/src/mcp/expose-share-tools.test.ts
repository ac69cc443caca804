import { describe, expect, it } from "vitest";
import { createFakeMcpAgent } from "../test-support/fake-mcp-agent.js";
import { exposeServiceTool } from "./expose-service-tool.js";
import { shareServiceTool } from "./share-service-tool.js";

describe("expose_service and share_service", () => {
  it("are offered only under --allow-expose and count as changes", () => {
    for (const tool of [exposeServiceTool, shareServiceTool]) {
      expect(tool.needsAllowExpose, tool.name).toBe(true);
      expect(tool.isChanging, tool.name).toBe(true);
    }
  });

  it("expose_service asks the agent to expose HOST:PORT, on loopback and e2e preferred by default", async () => {
    const fake = createFakeMcpAgent();
    const input = exposeServiceTool.inputSchema.parse({ name: "db", port: 5432 });
    const answer = await exposeServiceTool.run(input, fake.context());
    expect(fake.controlCalls).toEqual([
      { method: "expose", params: { name: "db", host: "127.0.0.1", port: 5432, e2e: "preferred" } },
    ]);
    expect(answer.text).toBe("Exposing db -> 127.0.0.1:5432");
    expect(exposeServiceTool.describeTarget(input)).toBe("expose_service db 127.0.0.1:5432");
  });

  it("share_service creates a share of the named services and returns its code", async () => {
    const fake = createFakeMcpAgent();
    const input = shareServiceTool.inputSchema.parse({ services: ["db"], name: "contractor", expires: "12h" });
    const answer = await shareServiceTool.run(input, fake.context());
    expect(fake.shares).toEqual([{ name: "contractor", expiresInSeconds: 12 * 3600, services: ["db"] }]);
    expect(answer.structured).toMatchObject({ code: "pcs_fake_code", services: ["db"] });
  });

  it("share_service refuses a bare number as a lifetime before creating anything", async () => {
    const fake = createFakeMcpAgent();
    const input = shareServiceTool.inputSchema.parse({ services: ["db"], expires: "30" });
    await expect(shareServiceTool.run(input, fake.context())).rejects.toThrow(/expires takes a duration like 90m/);
    expect(fake.shares).toEqual([]);
  });
});
