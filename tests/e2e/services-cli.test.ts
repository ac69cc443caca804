// What a user sees when a reach does not work (issue 18): `connect services` lists what this
// agent can reach and whether it is online, `connect reach` warns about an offline service, and
// `connect status` says why the last connection failed, on both ends, against a real hub.

import type { ServiceListEntry } from "@private-connect/agent";
import { beforeAll, describe, expect, it } from "vitest";
import { connectTcp, findFreePort, startEchoServer, type TestServer, waitFor, waitForClose } from "../support/net.ts";
import {
  type Agent,
  createWorkspace,
  expectSuccess,
  type Hub,
  parseJsonOutput,
  startAgent,
  startHub,
} from "../support/processes.ts";

/** What `connect services --json` prints, one per service: the SDK's own type. */
type ServiceEntry = ServiceListEntry;

interface FailureRecord {
  at: string;
  reason: string;
}

interface StatusJson {
  exposures: { name: string; host: string; port: number; lastFailure?: FailureRecord }[];
  reaches: { service: string; from?: string; port: number; lastFailure?: FailureRecord }[];
}

let hub: Hub;
let exposer: Agent;
let reacher: Agent;
let partner: Agent;
let echo: TestServer;
let closedPort: number;
let partnerSlug: string;

async function services(agent: Agent): Promise<ServiceEntry[]> {
  return parseJsonOutput<ServiceEntry[]>(expectSuccess(await agent.run(["services", "--json"])));
}

async function status(agent: Agent): Promise<StatusJson> {
  return parseJsonOutput<StatusJson>(expectSuccess(await agent.run(["status", "--json"])));
}

/** Opens a connection to a reach port and waits for the relay to close it (nothing answers). */
async function connectAndWaitForClose(port: number): Promise<void> {
  const socket = await connectTcp(port);
  socket.on("error", () => {});
  socket.write("hello?");
  const outcome = await waitForClose(socket, 10_000);
  expect(outcome.bytes).toBe(0);
}

beforeAll(async () => {
  hub = await startHub();
  const own = await createWorkspace(hub, "services-cli", "ops@services-cli.test");
  const other = await createWorkspace(hub, "services-partner", "ops@services-partner.test");
  partnerSlug = other.workspace.slug;
  [exposer, reacher, partner] = await Promise.all([
    startAgent({ hub, apiKey: own.apiKey, label: "exposer" }),
    startAgent({ hub, apiKey: own.apiKey, label: "reacher" }),
    startAgent({ hub, apiKey: other.apiKey, label: "partner-server" }),
  ]);
  echo = await startEchoServer();
  // A port nothing listens on: the exposing agent's dial is refused (ECONNREFUSED).
  closedPort = await findFreePort();
  expectSuccess(await exposer.run(["expose", `127.0.0.1:${closedPort}`, "--name", "broken-db"]));
  expectSuccess(await exposer.run(["expose", echo.address, "--name", "later-db"]));
  expectSuccess(await partner.run(["expose", echo.address, "--name", "partner-api"]));
  const share = parseJsonOutput<{ code: string }>(
    expectSuccess(await partner.run(["share", "--name", "for-services-cli", "--services", "partner-api", "--json"])),
  );
  expectSuccess(await reacher.run(["join", share.code]));
}, 180_000);

describe("connect services, reach and status against a real hub", () => {
  it("lists own services with their agent and shared ones with their workspace, all online", async () => {
    const listed = await services(reacher);
    expect(listed).toEqual([
      {
        name: "broken-db",
        from: null,
        shareName: null,
        online: true,
        agentId: expect.any(String),
        agentLabel: "exposer",
        openConnections: 0,
      },
      {
        name: "later-db",
        from: null,
        shareName: null,
        online: true,
        agentId: expect.any(String),
        agentLabel: "exposer",
        openConnections: 0,
      },
      {
        name: "partner-api",
        from: partnerSlug,
        shareName: "for-services-cli",
        online: true,
        agentId: null,
        agentLabel: null,
        openConnections: null,
      },
    ]);
    const table = expectSuccess(await reacher.run(["services"])).stdout;
    expect(table).toMatch(/^broken-db\s+this workspace\s+online\s+exposer\s+0$/m);
    expect(table).toMatch(new RegExp(`^partner-api\\s+${partnerSlug} \\(share for-services-cli\\)\\s+online\\s+-\\s+-$`, "m"));
    // The sharing workspace sees its own service, not what it shared in nor the joiner's.
    expect((await services(partner)).map((entry) => entry.name)).toEqual(["partner-api"]);
  });

  it("status on both ends says the target refused the connection, with the time", async () => {
    const reached = expectSuccess(await reacher.run(["reach", "broken-db", "--json"]));
    expect(reached.stderr).toBe("");
    const { port } = parseJsonOutput<{ port: number }>(reached);
    await connectAndWaitForClose(port);

    const exposing = await waitFor(
      async () => (await status(exposer)).exposures.find((exposure) => exposure.name === "broken-db")?.lastFailure,
      { what: "the exposing agent to record the refused dial" },
    );
    expect(exposing.reason).toBe(`target refused (ECONNREFUSED 127.0.0.1:${closedPort}): is the service running there?`);
    const reaching = await waitFor(
      async () => (await status(reacher)).reaches.find((reach) => reach.service === "broken-db")?.lastFailure,
      { what: "the reaching agent to record the refusal" },
    );
    expect(reaching.reason).toContain("ECONNREFUSED");
    expect(reaching.reason).toContain(`127.0.0.1:${closedPort}`);

    // Between the address and the failure, the line says how the last stream was secured.
    const text = expectSuccess(await reacher.run(["status"])).stdout;
    expect(text).toMatch(
      new RegExp(
        `^ {2}broken-db on 127\\.0\\.0\\.1:${port}, (?:[^\\n]*, )?last failure \\d\\d:\\d\\d:\\d\\d: .*ECONNREFUSED`,
        "m",
      ),
    );
    const exposerText = expectSuccess(await exposer.run(["status"])).stdout;
    expect(exposerText).toMatch(
      /^ {2}broken-db -> 127\.0\.0\.1:\d+, e2e preferred(?:[^\n]*)?, last failure \d\d:\d\d:\d\d: target refused \(ECONNREFUSED/m,
    );
  });

  it("once the exposing agent stops, services lists it offline, reach warns but binds, and status says offline", async () => {
    expectSuccess(await exposer.down());
    await waitFor(async () => (await services(reacher)).filter((entry) => entry.from === null).every((entry) => !entry.online), {
      what: "the stopped agent's services to show offline",
      timeoutMs: 20_000,
    });
    const listed = await services(reacher);
    expect(listed.map((entry) => [entry.name, entry.online])).toEqual([
      ["broken-db", false],
      ["later-db", false],
      ["partner-api", true],
    ]);

    const reached = await reacher.run(["reach", "later-db", "--json"]);
    expect(reached.code).toBe(0);
    expect(reached.stderr.trim()).toBe(
      "Warning: later-db is offline now (its agent exposer is not connected to the hub): connections to this port are closed until it comes back; see connect services",
    );
    const { port, online } = parseJsonOutput<{ port: number; online: boolean }>(reached);
    expect(online).toBe(false);
    await connectAndWaitForClose(port);
    const failure = await waitFor(
      async () => (await status(reacher)).reaches.find((reach) => reach.service === "later-db")?.lastFailure,
      { what: "the reaching agent to record the offline refusal" },
    );
    expect(failure.reason).toMatch(/^refused: Service later-db is offline/);
  });

  it("reach of a name it cannot reach says Service not found and points to connect services", async () => {
    const missing = await reacher.run(["reach", "no-such-db"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(
      "Error: Service not found: this agent can reach no service no-such-db; list the ones it can with connect services",
    );
  });
});
