import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { ResetCode } from "@private-connect/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConfigPaths } from "../config/paths.js";
import { createControlClient } from "../daemon/control-client.js";
import type { AgentProcessStatus } from "../daemon/control-protocol.js";
import { type DaemonResult, runDaemon } from "../daemon/run-daemon.js";
import type { ServiceListEntry } from "../sdk/services.js";
import { captureOutput } from "../test-support/capture-output.js";
import type { FakeHubAnswer, FakeHubCall, FakeHubServer } from "../test-support/fake-hub-server.js";
import { FakeTunnel } from "../test-support/fake-tunnel.js";
import { openRegisteredAgent, type RegisteredAgent } from "../test-support/registered-agent.js";
import { resolvedService } from "../test-support/resolved-service.js";
import Reach from "./reach.js";
import Services, { formatServices } from "./services.js";
import Status from "./status.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "a".repeat(64);
const OWN_ID = "00000000-0000-4000-8000-00000000000a";
const SERVER_ID = "00000000-0000-4000-8000-00000000000b";

const OWN_SERVICES = [
  {
    id: "00000000-0000-4000-8000-000000000101",
    name: "cache",
    agentId: OWN_ID,
    agentLabel: "laptop",
    targetHost: "127.0.0.1",
    targetPort: 6379,
    online: true,
  },
  {
    id: "00000000-0000-4000-8000-000000000102",
    name: "prod-db",
    agentId: SERVER_ID,
    agentLabel: "db-server",
    targetHost: "127.0.0.1",
    targetPort: 5432,
    online: false,
  },
];
const TRAFFIC = [{ name: "cache", openConnections: 3, bytesRelayed: 1000, connections: [] }];
const SHARED = [
  { name: "billing", from: "partner", shareName: "contract", expiresAt: "2030-02-01T00:00:00.000Z", online: true },
  { name: "prod-db", from: "partner", shareName: "contract", expiresAt: "2030-02-01T00:00:00.000Z", online: true },
];

let dir: string;
let paths: ConfigPaths;
let hub: FakeHubServer;
let answer: (call: FakeHubCall) => FakeHubAnswer | undefined;

function listings(call: FakeHubCall): FakeHubAnswer | undefined {
  if (call.procedure === "services.list") return { data: OWN_SERVICES };
  if (call.procedure === "services.traffic") return { data: TRAFFIC };
  if (call.procedure === "services.shared") return { data: SHARED };
  if (call.procedure === "services.expose") {
    const input = call.input as { name: string; targetHost: string; targetPort: number };
    return { data: { id: "00000000-0000-4000-8000-000000000103", ...input, agentId: OWN_ID } };
  }
  if (call.procedure === "services.resolve") {
    const { name, from } = call.input as { name: string; from?: string };
    const known = from === undefined ? ["cache", "prod-db", "billing"] : ["billing", "prod-db"];
    if (!known.includes(name)) return { error: { code: "NOT_FOUND", httpStatus: 404, message: "Service not found" } };
    return { data: resolvedService(name, from === undefined ? {} : { from }) };
  }
  return undefined;
}

let registered: RegisteredAgent;

beforeEach(async () => {
  answer = listings;
  registered = await openRegisteredAgent((call) => answer(call), {
    agentId: OWN_ID,
    token: TOKEN,
    tokenExpiresAt: "2030-03-01T00:00:00.000Z",
    workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
    label: "laptop",
  });
  ({ dir, hub, paths } = registered);
});

afterEach(async () => {
  await registered.close();
});

describe("connect services", () => {
  it("lists own services with their agent and connections, then shared ones with the workspace to reach them --from", async () => {
    const result = await captureOutput(() => Services.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trimEnd().split("\n")).toEqual([
      "Service  From                      Status   Agent                  Connections",
      "cache    this workspace            online   laptop (this machine)  3",
      "prod-db  this workspace            offline  db-server              0",
      "billing  partner (share contract)  online   -                      -",
      "prod-db  partner (share contract)  online   -                      -",
    ]);
    // Asked as this machine's agent: shares are joined per agent.
    expect(new Set(hub.calls.map((call) => call.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
  });

  it("answers --json with one stable object per service, null where the hub does not say", async () => {
    const result = await captureOutput(() => Services.run(["--config", dir, "--json"], ROOT));
    expect(result.exitCode).toBe(0);
    const services = JSON.parse(result.stdout) as ServiceListEntry[];
    expect(services[1]).toEqual({
      name: "prod-db",
      from: null,
      shareName: null,
      online: false,
      agentId: SERVER_ID,
      agentLabel: "db-server",
      openConnections: 0,
    });
    expect(services[2]).toEqual({
      name: "billing",
      from: "partner",
      shareName: "contract",
      online: true,
      agentId: null,
      agentLabel: null,
      openConnections: null,
    });
  });

  it("says how to get a first service when there is none", async () => {
    expect(formatServices([])).toBe(
      "No services to reach yet: expose one with connect expose HOST:PORT --name NAME, or join a share with connect join CODE",
    );
  });

  it("fails with the hub's reason when the hub refuses, exit 1", async () => {
    answer = () => ({ error: { code: "UNAUTHORIZED", httpStatus: 401, message: "Invalid credentials: check your API key" } });
    const result = await captureOutput(() => Services.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("Invalid credentials");
  });
});

describe("with a running agent", () => {
  let tunnels: FakeTunnel[];
  let done: Promise<DaemonResult>;

  beforeEach(async () => {
    tunnels = [];
    done = runDaemon({
      paths,
      identity: {
        hubUrl: hub.url,
        agentId: OWN_ID,
        token: TOKEN,
        tokenExpiresAt: "2030-03-01T00:00:00.000Z",
        workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
        label: "laptop",
      },
      isInsecureAllowed: true,
      isHandlingSignals: false,
      log: () => {},
      createTunnel: (options) => {
        const tunnel = new FakeTunnel(options);
        tunnels.push(tunnel);
        return tunnel;
      },
    });
    const control = createControlClient(paths.socket);
    let isUp = false;
    for (let attempt = 0; attempt < 250 && !isUp; attempt += 1) {
      isUp = await control.request("status", {}).then(
        () => true,
        () => false,
      );
      if (!isUp) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(isUp).toBe(true);
  });

  afterEach(async () => {
    await createControlClient(paths.socket).request("shutdown", {});
    await done;
  });

  function tunnel(): FakeTunnel {
    const [only] = tunnels;
    if (only === undefined) throw new Error("the daemon started no tunnel");
    return only;
  }

  it("reach of an offline service binds the port, exits 0 and warns on stderr that it is offline", async () => {
    const result = await captureOutput(() => Reach.run(["prod-db", "--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^Reaching prod-db on 127\.0\.0\.1:\d+\n$/);
    expect(result.stderr).toBe(
      "Warning: prod-db is offline now (its agent db-server is not connected to the hub): connections to this port are closed until it comes back; see connect services\n",
    );
    const json = await captureOutput(() => Reach.run(["prod-db", "--config", dir, "--json"], ROOT));
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ service: "prod-db", online: false });
    expect(json.stderr).toBe(result.stderr);
    // The workspace's own prod-db wins without --from, as the hub decides; the shared one is online.
    const shared = await captureOutput(() => Reach.run(["prod-db", "--from", "partner", "--config", dir, "--json"], ROOT));
    expect(shared.exitCode).toBe(0);
    expect(shared.stderr).toBe("");
    expect(JSON.parse(shared.stdout)).toMatchObject({ service: "prod-db", from: "partner", online: true });
  });

  it("reach of an online service says nothing more, and --json tells online", async () => {
    const result = await captureOutput(() => Reach.run(["cache", "--config", dir, "--json"], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toMatchObject({ service: "cache", host: "127.0.0.1", online: true });
  });

  it("reach of an unknown name says Service not found and points to connect services", async () => {
    const result = await captureOutput(() => Reach.run(["prod-dbb", "--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      "Error: Service not found: this agent can reach no service prod-dbb; list the ones it can with connect services\n",
    );
    const shared = await captureOutput(() => Reach.run(["cache", "--from", "partner", "--config", dir], ROOT));
    expect(shared.stderr).toContain("can reach no service cache from partner; list the ones it can with connect services");
  });

  it("status shows each reach's and each exposure's last failure with its time, one record each", async () => {
    const control = createControlClient(paths.socket);
    const reach = await control.request("reach", { service: "prod-db" });
    await control.request("expose", { name: "cache", host: "localhost", port: 1 });
    const { onStreamReset, onTargetFailure } = tunnel().options;
    for (let i = 0; i < 100; i++) {
      onStreamReset?.({ service: "prod-db", code: ResetCode.SERVICE_OFFLINE, reason: `attempt ${i}`, wasOpened: false });
    }
    onStreamReset?.({
      service: "prod-db",
      code: ResetCode.SERVICE_OFFLINE,
      reason: "Service prod-db is offline: its agent is not connected to the hub",
      wasOpened: false,
    });
    // Closed normally by either end: not a failure.
    onStreamReset?.({ service: "prod-db", code: ResetCode.CANCELLED, reason: "cancelled", wasOpened: true });
    onTargetFailure?.({ service: "cache", host: "localhost", port: 1, code: "ECONNREFUSED" });

    const status = (await control.request("status", {})) as AgentProcessStatus;
    expect(status.reaches).toEqual([
      {
        service: "prod-db",
        host: "127.0.0.1",
        port: reach.port,
        lastFailure: {
          at: expect.any(String),
          reason: "refused: Service prod-db is offline: its agent is not connected to the hub",
        },
      },
    ]);
    expect(status.exposures).toEqual([
      {
        name: "cache",
        host: "localhost",
        port: 1,
        e2e: "preferred",
        lastFailure: {
          at: expect.any(String),
          reason: "target refused (ECONNREFUSED localhost:1): is the service running there?",
        },
      },
    ]);
    const at = new Date(status.reaches[0]?.lastFailure?.at ?? "");
    const time = [at.getHours(), at.getMinutes(), at.getSeconds()].map((part) => String(part).padStart(2, "0")).join(":");

    const printed = await captureOutput(() => Status.run(["--config", dir], ROOT));
    expect(printed.exitCode).toBe(0);
    expect(printed.stdout).toContain(
      `  prod-db on 127.0.0.1:${reach.port}, last failure ${time}: refused: Service prod-db is offline: its agent is not connected to the hub\n`,
    );
    expect(printed.stdout).toMatch(
      /\n {2}cache -> localhost:1, e2e preferred, last failure \d\d:\d\d:\d\d: target refused \(ECONNREFUSED localhost:1\): is the service running there\?\n/,
    );

    // A reach stopped and started again, or an exposure replaced, starts with a clean record.
    await control.request("stopReach", { service: "prod-db" });
    onStreamReset?.({ service: "prod-db", code: ResetCode.SERVICE_OFFLINE, reason: "late", wasOpened: false });
    await control.request("reach", { service: "prod-db" });
    await control.request("expose", { name: "cache", host: "localhost", port: 6379 });
    const after = (await control.request("status", {})) as AgentProcessStatus;
    expect(after.reaches[0]?.lastFailure).toBeUndefined();
    expect(after.exposures[0]?.lastFailure).toBeUndefined();
  });

  it("a connection made while the agent is away from the hub is recorded as refused, and why", async () => {
    const control = createControlClient(paths.socket);
    const reach = await control.request("reach", { service: "cache" });
    tunnel().currentState = "disconnected";
    await new Promise<void>((resolve) => {
      const socket = connect(reach.port, "127.0.0.1");
      socket.on("close", () => resolve());
      socket.on("error", () => {});
    });
    const status = (await control.request("status", {})) as AgentProcessStatus;
    expect(status.reaches[0]?.lastFailure?.reason).toBe("refused: This agent is not connected to the hub (disconnected)");
  });
});
