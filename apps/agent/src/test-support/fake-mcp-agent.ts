// A running agent and its hub as connect mcp's tools see them (the control socket and the hub
// calls made with the agent's token), in memory: what each tool asked for is kept for assertions.
import type { CreatedShare, CreateShareInput } from "@private-connect/api";
import type { Exposure } from "../config/state.js";
import { type ControlClient, createNotRunningError } from "../daemon/control-client.js";
import type { AgentProcessStatus, ControlMethod, ControlMethods } from "../daemon/control-protocol.js";
import { ConnectError } from "../errors.js";
import type { HubGateway } from "../mcp/hub-gateway.js";
import type { McpToolContext } from "../mcp/mcp-tool.js";
import type { ReachInfo } from "../sdk/agent.js";
import type { ReportActionInput } from "../sdk/audit.js";
import type { ServiceListEntry } from "../sdk/services.js";

export const FAKE_CONFIG_DIR = "/home/dev/.private-connect";
export const FAKE_HUB_URL = "https://hub.example.test";

export interface FakeMcpAgent {
  control: ControlClient;
  hub: HubGateway;
  /** Every control request, in order. */
  controlCalls: { method: ControlMethod; params: unknown }[];
  /** Every audit.reportAction the hub accepted. */
  reports: ReportActionInput[];
  shares: CreateShareInput[];
  services: ServiceListEntry[];
  reaches: ReachInfo[];
  exposures: Exposure[];
  isRunning: boolean;
  /** The hub refuses audit reports (down, rate limited). */
  isAuditFailing: boolean;
  /** The hub refuses services.list and the rest. */
  isHubFailing: boolean;
  context(overrides?: Partial<McpToolContext>): McpToolContext & { logs: string[] };
}

export function createFakeService(overrides: Partial<ServiceListEntry> & { name: string }): ServiceListEntry {
  return {
    from: null,
    shareName: null,
    online: true,
    agentId: "agent-server",
    agentLabel: "server",
    openConnections: 0,
    ...overrides,
  };
}

export function createFakeMcpAgent(): FakeMcpAgent {
  const fake: FakeMcpAgent = {
    controlCalls: [],
    reports: [],
    shares: [],
    services: [],
    reaches: [],
    exposures: [],
    isRunning: true,
    isAuditFailing: false,
    isHubFailing: false,
    control: {
      socketPath: `${FAKE_CONFIG_DIR}/agent.sock`,
      async request(method, params) {
        fake.controlCalls.push({ method, params });
        if (!fake.isRunning) throw createNotRunningError(FAKE_CONFIG_DIR);
        return answerControl(fake, method, params) as never;
      },
    },
    hub: {
      async listReachableServices() {
        if (fake.isHubFailing) throw new ConnectError("HUB_UNREACHABLE", "Cannot reach the hub at https://hub.example.test");
        return fake.services;
      },
      async reportAction(input) {
        if (fake.isAuditFailing) throw new ConnectError("HUB_UNREACHABLE", "Cannot reach the hub at https://hub.example.test");
        fake.reports.push(input);
        return { occurredAt: "2030-01-31T10:00:00.000Z" };
      },
      async createShare(input): Promise<CreatedShare> {
        fake.shares.push(input);
        return {
          id: "00000000-0000-4000-8000-000000000001",
          name: input.name,
          code: "pcs_fake_code",
          services: input.services ?? [],
          expiresAt: "2030-02-07T10:00:00.000Z",
          rateLimitPerMinute: input.rateLimitPerMinute ?? null,
        };
      },
    },
    context(overrides = {}) {
      const logs: string[] = [];
      return {
        control: fake.control,
        hub: fake.hub,
        workingDir: "/work/project",
        client: { name: "test-client", version: "1.0.0" },
        log: (line: string) => logs.push(line),
        logs,
        ...overrides,
      };
    },
  };
  return fake;
}

function answerControl(fake: FakeMcpAgent, method: ControlMethod, params: unknown): ControlMethods[ControlMethod]["result"] {
  switch (method) {
    case "status":
      return createStatus(fake);
    case "reach": {
      const request = params as ControlMethods["reach"]["params"];
      const known = fake.services.some(
        (service) => service.name === request.service && (request.from === undefined || service.from === request.from),
      );
      if (!known) throw new ConnectError("SERVICE_NOT_FOUND", "Service not found");
      const reach: ReachInfo = {
        service: request.service,
        ...(request.from === undefined ? {} : { from: request.from }),
        host: request.host ?? "127.0.0.1",
        port: request.port === undefined || request.port === 0 ? 40_001 + fake.reaches.length : request.port,
      };
      fake.reaches.push(reach);
      return reach;
    }
    case "stopReach": {
      const request = params as ControlMethods["stopReach"]["params"];
      const index = fake.reaches.findIndex((reach) => reach.service === request.service && reach.from === request.from);
      if (index === -1)
        throw new ConnectError("INVALID_INPUT", `No reach of "${request.service}" on this agent: see connect status`);
      fake.reaches.splice(index, 1);
      return { stopped: true };
    }
    case "expose": {
      const exposure = params as Exposure;
      fake.exposures.push(exposure);
      return exposure;
    }
    default:
      throw new ConnectError("CONTROL_FAILED", `The fake agent does not answer ${method}`);
  }
}

function createStatus(fake: FakeMcpAgent): AgentProcessStatus {
  return {
    pid: 4242,
    configDir: FAKE_CONFIG_DIR,
    agent: { id: "agent-laptop", label: "laptop", workspace: { id: "ws-1", name: "acme" } },
    hub: { url: FAKE_HUB_URL, state: "connected" },
    token: { expiresAt: "2030-03-01T00:00:00.000Z", isProvisioned: false },
    exposures: fake.exposures,
    reaches: fake.reaches,
    activeStreams: 0,
    notices: [],
    ipChanges: [],
  };
}
