import { beforeEach, describe, expect, it, vi } from "vitest";
import { type CheckReport, checkService } from "../check/check-service.js";
import { createFakeMcpAgent } from "../test-support/fake-mcp-agent.js";
import { checkServiceTool } from "./check-service-tool.js";

// The probes are check/'s (tested there and end to end): this is about what the tool passes and returns.
vi.mock("../check/check-service.js", () => ({
  checkProtocols: ["postgres", "mysql", "redis", "http", "tls", "tcp"],
  checkService: vi.fn(),
}));

const healthy: CheckReport = {
  service: "prod-db",
  protocol: "postgres",
  isProtocolGuessed: true,
  isHealthy: true,
  openMs: 12,
  probeMs: 3,
  summary: "prod-db answers as PostgreSQL 15.4",
  details: { version: "15.4", tls: false },
};

beforeEach(() => {
  vi.mocked(checkService).mockReset();
});

describe("check_service", () => {
  it("checks through the running agent's control socket and returns the report", async () => {
    vi.mocked(checkService).mockResolvedValue(healthy);
    const fake = createFakeMcpAgent();
    const input = checkServiceTool.inputSchema.parse({ service: "prod-db", from: "partner", protocol: "postgres" });
    const answer = await checkServiceTool.run(input, fake.context());
    expect(checkService).toHaveBeenCalledWith(fake.control, { service: "prod-db", from: "partner", protocol: "postgres" });
    expect(answer).toEqual({ text: "prod-db answers as PostgreSQL 15.4", structured: healthy });
    expect(checkServiceTool.outputSchema.parse(answer.structured)).toEqual(healthy);
  });

  it("reports an unhealthy service as a result with its problem, not as a failed call", async () => {
    vi.mocked(checkService).mockResolvedValue({
      ...healthy,
      isHealthy: false,
      probeMs: null,
      summary: "prod-db did not answer as PostgreSQL",
      problem: "the target refused the connection: check the service on the exposing machine",
    });
    const answer = await checkServiceTool.run({ service: "prod-db" }, createFakeMcpAgent().context());
    expect(answer.text).toBe(
      "prod-db did not answer as PostgreSQL\nthe target refused the connection: check the service on the exposing machine",
    );
  });

  it("answers a service the agent cannot reach with a tool error naming list_services", async () => {
    vi.mocked(checkService).mockResolvedValue({
      service: "nope",
      protocol: "tcp",
      isProtocolGuessed: true,
      isHealthy: false,
      openMs: null,
      probeMs: null,
      summary: "service not found",
      details: {},
      problem: "Service not found: this agent can reach no service nope; list the ones it can with connect services",
    });
    await expect(checkServiceTool.run({ service: "nope" }, createFakeMcpAgent().context())).rejects.toThrow(
      "Service not found: this agent can reach no service nope; call list_services for the ones it can",
    );
  });

  it("takes only the protocols the check knows", () => {
    expect(checkServiceTool.inputSchema.safeParse({ service: "x", protocol: "ftp" }).success).toBe(false);
  });
});
