// connect mcp end to end: the MCP SDK's own client starts `connect mcp` over stdio as a laptop
// agent's MCP server, against a real hub and a real server agent exposing real services. What an
// AI client sees (the tools, their answers, tool errors) and what the workspace's audit log keeps
// of every call, refused ones included.
import { copyFile, mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectTcp, findFreePort, roundTrip, startEchoServer, type TestServer } from "../support/net.ts";
import {
  AGENT_BIN,
  type Agent,
  createWorkspace,
  expectSuccess,
  type Hub,
  makeTempDir,
  parseJsonOutput,
  startAgent,
  startHub,
} from "../support/processes.ts";

interface AuditEventJson {
  type: string;
  action: string;
  actor: { type: string; id: string | null };
  clientType: string | null;
  target: string | null;
  reason: string | null;
  data: Record<string, unknown>;
}

const CLIENT = { name: "e2e-mcp-client", version: "3.1.4" };

let hub: Hub;
let server: Agent;
let laptop: Agent;
let echo: TestServer;
let web: HttpServer;
let projectDir: string;
/** The port pconnect.yml names for echo. */
let projectPort: number;
/** connect mcp of the laptop, started in projectDir, without --allow-expose. */
let mcp: Client;
const clients: Client[] = [];
const serverLogs = new Map<Client, () => string>();
/** What the clients could not read: anything but MCP messages on a server's stdout shows up here. */
const protocolErrors: string[] = [];

/** `connect mcp ARGS` for this config directory, as an MCP client configured for it starts it. */
async function startMcp(configDir: string, options: { args?: string[]; cwd?: string } = {}): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [AGENT_BIN, "mcp", "--config", configDir, ...(options.args ?? [])],
    cwd: options.cwd ?? dirname(configDir),
    env: { HOME: dirname(configDir), CONNECT_HOME: configDir, NO_COLOR: "1" },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const client = new Client(CLIENT);
  client.onerror = (error) => protocolErrors.push(error.message);
  await client.connect(transport);
  clients.push(client);
  serverLogs.set(client, () => stderr);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === "text" ? part.text : "")).join("\n");
}

/** A successful call's structured result; a tool error fails the test with its text. */
async function callOk<T>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = await call(client, name, args);
  expect(result.isError, `${name}: ${textOf(result)}`).toBeFalsy();
  return result.structuredContent as T;
}

async function auditOf(agent: Agent, type: string): Promise<AuditEventJson[]> {
  return parseJsonOutput<AuditEventJson[]>(
    expectSuccess(await agent.run(["audit", "--type", type, "--limit", "1000", "--json"])),
  );
}

async function laptopAgentId(): Promise<string> {
  return JSON.parse(await readFile(join(laptop.configDir, "identity.json"), "utf8")).agentId;
}

beforeAll(async () => {
  hub = await startHub();
  const acme = await createWorkspace(hub, "acme", "owner@acme.test");
  [server, laptop] = await Promise.all([
    startAgent({ hub, apiKey: acme.apiKey, label: "server" }),
    startAgent({ hub, apiKey: acme.apiKey, label: "laptop" }),
  ]);
  echo = await startEchoServer();
  web = createServer((_request, response) => response.writeHead(200, { "content-type": "text/plain" }).end("ok"));
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  const webPort = (web.address() as AddressInfo).port;
  expectSuccess(await server.run(["expose", echo.address, "--name", "echo"]));
  expectSuccess(await server.run(["expose", `127.0.0.1:${webPort}`, "--name", "web"]));

  projectDir = join(await makeTempDir("mcp-project"), "app");
  await mkdir(projectDir);
  projectPort = await findFreePort();
  await writeFile(
    join(projectDir, "pconnect.yml"),
    `hub: ${hub.url}\nservices:\n  - name: echo\n    port: ${projectPort}\n    env: ECHO_ADDR\n    url: tcp://{host}:{port}\n`,
  );
  await writeFile(join(dirname(projectDir), "outside.yml"), "services:\n  - name: web\n    port: 1\n    env: STOLEN\n");
  await symlink(join(dirname(projectDir), "outside.yml"), join(projectDir, "linked.yml"));
  mcp = await startMcp(laptop.configDir, { cwd: projectDir });
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    for (const read of serverLogs.values()) console.error(`----- connect mcp stderr -----\n${read().slice(-4000)}`);
  });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await new Promise((resolve) => web?.close(resolve));
});

describe("connect mcp", () => {
  it("offers expose_service and share_service only when started with --allow-expose", async () => {
    const names = (await mcp.listTools()).tools.map((tool) => tool.name);
    expect(names.sort()).toEqual(
      ["check_service", "get_connection_info", "list_services", "reach_service", "report_action", "stop_reach"].sort(),
    );
    const allowing = await startMcp(laptop.configDir, { args: ["--allow-expose"] });
    const allowed = (await allowing.listTools()).tools.map((tool) => tool.name);
    expect(allowed).toEqual(expect.arrayContaining([...names, "expose_service", "share_service"]));

    // Called anyway without the flag: refused, nothing exposed, and the attempt is in the audit log.
    const refused = await call(mcp, "expose_service", { name: "laptop-ssh", port: 22 });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/expose_service is off: .*connect mcp --allow-expose/);
    const blocked = (await auditOf(laptop, "mcp")).filter(
      (event) => event.action === "block" && event.target === "expose_service",
    );
    expect(blocked).toHaveLength(1);
    const services = await callOk<{ services: { name: string }[] }>(mcp, "list_services");
    expect(services.services.map((service) => service.name)).not.toContain("laptop-ssh");

    // With it, exposing works through the laptop's agent, and its service is online at once.
    const exposed = await callOk<{ name: string; port: number }>(allowing, "expose_service", { name: "laptop-web", port: 1 });
    expect(exposed).toMatchObject({ name: "laptop-web", host: "127.0.0.1", port: 1 });
    const after = await callOk<{ services: { name: string; online: boolean }[] }>(mcp, "list_services");
    expect(after.services).toContainEqual(expect.objectContaining({ name: "laptop-web", online: true }));
  });

  it("lists the exposed services online, reaches one on a port that relays, and stop_reach frees it", async () => {
    const listed = await callOk<{ services: { name: string; from: string | null; online: boolean; agentLabel: string }[] }>(
      mcp,
      "list_services",
    );
    expect(listed.services).toContainEqual(
      expect.objectContaining({ name: "echo", from: null, online: true, agentLabel: "server", reach: null }),
    );

    const reach = await callOk<{ host: string; port: number; online: boolean }>(mcp, "reach_service", { service: "echo" });
    expect(reach).toMatchObject({ service: "echo", host: "127.0.0.1", online: true });
    const payload = Buffer.from(`through the MCP reach ${Date.now()}`);
    expect((await roundTrip(reach.port, payload)).toString()).toBe(payload.toString());
    const whileReached = await callOk<{ services: { name: string; reach: unknown }[] }>(mcp, "list_services");
    expect(whileReached.services).toContainEqual(
      expect.objectContaining({ name: "echo", reach: { host: "127.0.0.1", port: reach.port } }),
    );

    expect(await callOk(mcp, "stop_reach", { service: "echo" })).toEqual({ service: "echo", stopped: true });
    await expect(connectTcp(reach.port, "127.0.0.1", 5_000)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    const again = await call(mcp, "stop_reach", { service: "echo" });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/^No reach of "echo" on this agent/);
  });

  it("answers an unknown service with a tool error, and keeps serving", async () => {
    const missing = await call(mcp, "reach_service", { service: "no-such-db" });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/^Service not found: this agent can reach no service no-such-db; call list_services/);
    const invalid = await call(mcp, "reach_service", { port: "not a port" });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toMatch(/^Invalid arguments for reach_service/);
    expect((await mcp.listTools()).tools.length).toBe(6);
  });

  it("fills in pconnect.yml's variables, tells whether each service is reached there, and refuses paths out of the directory", async () => {
    type Info = { file: string; variables: { name: string; value: string }[]; services: { name: string; isReached: boolean }[] };
    const before = await callOk<Info>(mcp, "get_connection_info");
    expect(before).toEqual({
      file: "pconnect.yml",
      variables: [{ service: "echo", name: "ECHO_ADDR", value: `tcp://127.0.0.1:${projectPort}` }],
      services: [{ name: "echo", port: projectPort, isReached: false, reachedPort: null }],
    });
    await callOk(mcp, "reach_service", { service: "echo", port: projectPort });
    const after = await callOk<Info>(mcp, "get_connection_info", { file: "pconnect.yml" });
    expect(after.services).toEqual([{ name: "echo", port: projectPort, isReached: true, reachedPort: projectPort }]);
    const payload = Buffer.from("on the file's port");
    expect((await roundTrip(projectPort, payload)).toString()).toBe(payload.toString());
    await callOk(mcp, "stop_reach", { service: "echo" });

    for (const file of ["../outside.yml", join(dirname(projectDir), "outside.yml"), "linked.yml", "/etc/passwd"]) {
      const refused = await call(mcp, "get_connection_info", { file });
      expect(refused.isError, file).toBe(true);
      expect(textOf(refused), file).toMatch(/outside the working directory/);
      expect(textOf(refused), file).not.toContain("STOLEN");
    }
    const blocked = (await auditOf(laptop, "mcp")).filter(
      (event) => event.action === "block" && event.target?.startsWith("get_connection_info "),
    );
    expect(blocked.map((event) => event.target).sort()).toEqual(
      [
        "get_connection_info ../outside.yml",
        `get_connection_info ${join(dirname(projectDir), "outside.yml")}`,
        "get_connection_info linked.yml",
        "get_connection_info /etc/passwd",
      ].sort(),
    );
  });

  it("checks a service through the tunnel", async () => {
    const report = await callOk<{
      isHealthy: boolean;
      protocol: string;
      openMs: number | null;
      details: Record<string, unknown>;
    }>(mcp, "check_service", { service: "web", protocol: "http" });
    expect(report).toMatchObject({ service: "web", protocol: "http", isProtocolGuessed: false, isHealthy: true });
    expect(report.openMs).toEqual(expect.any(Number));
    expect(report.details).toMatchObject({ status: 200 });
    const missing = await call(mcp, "check_service", { service: "no-such-db", protocol: "tcp" });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/^Service not found: this agent can reach no service no-such-db; call list_services/);
  });

  it("records report_action in the audit log as the laptop's agent, with the MCP client's name", async () => {
    const target = `/etc/shadow-${Date.now()}`;
    const reported = await callOk<{ occurredAt: string }>(mcp, "report_action", {
      type: "file",
      action: "block",
      target,
      reason: "outside the project",
    });
    expect(Date.parse(reported.occurredAt)).not.toBeNaN();
    const events = (await auditOf(laptop, "file")).filter((event) => event.target === target);
    expect(events).toEqual([
      expect.objectContaining({
        action: "block",
        reason: "outside the project",
        clientType: "cli",
        actor: { type: "agent", id: await laptopAgentId() },
        data: { via: "mcp", client: CLIENT },
      }),
    ]);
    const forged = await call(mcp, "report_action", { type: "mcp", action: "allow", target: "expose_service" });
    expect(forged.isError).toBe(true);
    expect(textOf(forged)).toMatch(/^type mcp is this server's record of tool calls/);
  });

  it("answers each tool with 'run connect up' when no agent runs for its config directory", async () => {
    // The laptop's identity without its running agent: what a stopped agent's directory holds.
    const stoppedDir = join(await mkdtemp(join(dirname(laptop.configDir), "stopped-")), "config");
    await mkdir(stoppedDir, { recursive: true, mode: 0o700 });
    await copyFile(join(laptop.configDir, "identity.json"), join(stoppedDir, "identity.json"));
    const idle = await startMcp(stoppedDir);
    for (const [name, args] of [
      ["list_services", {}],
      ["reach_service", { service: "echo" }],
      ["check_service", { service: "echo" }],
      ["report_action", { type: "file", action: "allow", target: "x" }],
    ] as const) {
      const result = await call(idle, name, args);
      expect(result.isError, name).toBe(true);
      expect(textOf(result), name).toMatch(/^No agent is running for .*: run connect up/);
    }
  });

  it("has every tool call in the audit log with the client's name and version and the agent's client type", async () => {
    const events = await auditOf(laptop, "mcp");
    const id = await laptopAgentId();
    for (const event of events) {
      expect(event).toMatchObject({ clientType: "cli", actor: { type: "agent", id } });
      expect(event.data.client, event.target ?? "").toEqual(CLIENT);
    }
    const allowed = events.filter((event) => event.action === "allow").map((event) => event.target);
    expect(allowed).toEqual(
      expect.arrayContaining([
        "list_services",
        "reach_service echo",
        "stop_reach echo",
        "reach_service no-such-db",
        "expose_service laptop-web 127.0.0.1:1",
        "get_connection_info pconnect.yml",
        "check_service web",
        "report_action file block",
      ]),
    );
    const blocked = events.filter((event) => event.action === "block").map((event) => event.target);
    expect(blocked).toEqual(expect.arrayContaining(["expose_service", "reach_service", "report_action mcp allow"]));
    expect(events.find((event) => event.target === "reach_service" && event.action === "block")?.reason).toMatch(
      /^Invalid arguments/,
    );
    expect(protocolErrors).toEqual([]);
  });
});
