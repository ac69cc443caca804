import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createFakeMcpAgent, createFakeService, type FakeMcpAgent } from "../test-support/fake-mcp-agent.js";
import { createMcpServer } from "./create-mcp-server.js";

// The checks themselves are check/'s to test (check-service-tool.test.ts covers the tool): here
// only which tools are served and how every call is audited matters.
vi.mock("../check/check-service.js", () => ({
  checkProtocols: ["postgres", "mysql", "redis", "http", "tls", "tcp"],
  checkService: vi.fn(),
}));

const openClients: Client[] = [];

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
});

/** The SDK's own client against the server, over an in-memory pair of transports. */
async function connectClient(fake: FakeMcpAgent, options: { isExposeAllowed?: boolean } = {}) {
  const logs: string[] = [];
  const server = createMcpServer({
    control: fake.control,
    hub: fake.hub,
    workingDir: "/work/project",
    isExposeAllowed: options.isExposeAllowed ?? false,
    log: (line) => logs.push(line),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "unit-client", version: "9.8.7" });
  await client.connect(clientSide);
  openClients.push(client);
  return { client, logs };
}

function textOf(result: unknown): string {
  const { content } = result as CallToolResult;
  return content.map((part) => (part.type === "text" ? part.text : "")).join("\n");
}

describe("connect mcp's server", () => {
  it("lists the tools without expose_service and share_service unless expose is allowed", async () => {
    const { client } = await connectClient(createFakeMcpAgent());
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual([
      "list_services",
      "reach_service",
      "stop_reach",
      "check_service",
      "get_connection_info",
      "report_action",
    ]);

    const { client: allowing } = await connectClient(createFakeMcpAgent(), { isExposeAllowed: true });
    const allowed = (await allowing.listTools()).tools;
    expect(allowed.map((tool) => tool.name)).toEqual(expect.arrayContaining(["expose_service", "share_service"]));
    const reach = allowed.find((tool) => tool.name === "reach_service");
    expect(reach?.inputSchema.required).toEqual(["service"]);
    expect(reach?.annotations?.readOnlyHint).toBe(false);
    expect(allowed.find((tool) => tool.name === "list_services")?.annotations?.readOnlyHint).toBe(true);
  });

  it("refuses a call to expose_service without --allow-expose, does nothing and audits it as block", async () => {
    const fake = createFakeMcpAgent();
    const { client } = await connectClient(fake);
    const result = await client.callTool({ name: "expose_service", arguments: { name: "db", port: 5432 } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/expose_service is off: .*connect mcp --allow-expose/);
    expect(fake.controlCalls).toEqual([]);
    expect(fake.reports).toEqual([
      expect.objectContaining({
        type: "mcp",
        action: "block",
        target: "expose_service",
        data: expect.objectContaining({ client: { name: "unit-client", version: "9.8.7" } }),
      }),
    ]);
  });

  it("audits an allowed call with the client's name and version before the agent acts", async () => {
    const fake = createFakeMcpAgent();
    fake.services.push(createFakeService({ name: "prod-db" }));
    const { client } = await connectClient(fake);
    const result = await client.callTool({ name: "reach_service", arguments: { service: "prod-db", port: 15432 } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ service: "prod-db", host: "127.0.0.1", port: 15432, online: true });
    expect(fake.reports).toEqual([
      {
        type: "mcp",
        action: "allow",
        target: "reach_service prod-db",
        data: {
          tool: "reach_service",
          client: { name: "unit-client", version: "9.8.7" },
          arguments: { service: "prod-db", port: 15432 },
        },
      },
    ]);
  });

  it("does not make a change it cannot audit, and answers a read with the audit failure logged", async () => {
    const fake = createFakeMcpAgent();
    fake.services.push(createFakeService({ name: "prod-db" }));
    fake.isAuditFailing = true;
    const { client, logs } = await connectClient(fake);

    const reach = await client.callTool({ name: "reach_service", arguments: { service: "prod-db" } });
    expect(reach.isError).toBe(true);
    expect(textOf(reach)).toMatch(/^Not done: reach_service .*could not be recorded in the audit log \(Cannot reach the hub/);
    expect(fake.reaches).toEqual([]);

    const list = await client.callTool({ name: "list_services", arguments: {} });
    expect(list.isError).toBeFalsy();
    expect(textOf(list)).toBe("prod-db: online");
    expect(logs).toEqual([expect.stringMatching(/^Could not record list_services in the audit log: Cannot reach the hub/)]);
  });

  it("answers every tool with a tool error naming connect up while no agent runs", async () => {
    const fake = createFakeMcpAgent();
    fake.isRunning = false;
    const { client } = await connectClient(fake);
    const calls: [string, Record<string, unknown>][] = [
      ["list_services", {}],
      ["reach_service", { service: "prod-db" }],
      ["stop_reach", { service: "prod-db" }],
      ["report_action", { type: "file", action: "block", target: "/etc/shadow" }],
    ];
    for (const [name, args] of calls) {
      const result = await client.callTool({ name, arguments: args });
      expect(result.isError, name).toBe(true);
      expect(textOf(result), name).toMatch(/^No agent is running for \/home\/dev\/\.private-connect: run connect up/);
    }
    // Still audited: the calls were made, through this agent's identity.
    expect(fake.reports.map((report) => report.target)).toEqual([
      "list_services",
      "reach_service prod-db",
      "stop_reach prod-db",
      "report_action file block",
    ]);
  });

  it("refuses an unknown tool and invalid arguments as tool errors, audited as block, and keeps serving", async () => {
    const fake = createFakeMcpAgent();
    const { client } = await connectClient(fake);
    const unknown = await client.callTool({ name: "rm_rf\u001b[2J", arguments: {} });
    expect(unknown.isError).toBe(true);
    // Written out, not sent as a command to the terminal of whoever reads the transcript.
    expect(textOf(unknown)).toBe("No tool rm_rf\\x1b[2J here: ask for the list of tools");
    const invalid = await client.callTool({ name: "reach_service", arguments: { service: "  ", port: 70000 } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toMatch(/^Invalid arguments for reach_service: service: Give a service name; port: /);
    expect(fake.reports).toEqual([
      expect.objectContaining({ action: "block", target: "rm_rf\\x1b[2J" }),
      expect.objectContaining({ action: "block", target: "reach_service", reason: expect.stringMatching(/^Invalid arguments/) }),
    ]);
    expect(fake.controlCalls).toEqual([]);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });
});
