// The reads the dashboard's overview and service pages need: agents.list (presence, last seen,
// masked addresses, IP changes) and services.traffic (the relay's live counters, named from the
// workspace's own records). Each has its outsider case.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPrincipal, ServiceTraffic } from "../deps.js";
import { recordAgentSeen } from "../services/agents/record-agent-seen.js";
import { type Harness, openHarness, testEngines } from "../test-support/harness.js";

describe.each(testEngines)("dashboard reads on $name", ({ name, skip }) => {
  let harness: Harness;
  let keyA: string;
  let keyB: string;
  let workspaceA: string;
  let workspaceB: string;
  let server: { agentId: string; token: string };
  let laptop: { agentId: string; token: string };
  let contractor: { agentId: string; token: string };
  /** What the fake relay reports, by `${agentId}/${service}`. */
  const traffic = new Map<string, ServiceTraffic>();

  function principal(agent: { agentId: string }, workspaceId: string, label: string): AgentPrincipal {
    return { kind: "agent", agentId: agent.agentId, workspaceId, label, clientType: "cli", tokenExpiresAt: new Date() };
  }

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    harness.deps.presence.describeServiceTraffic = async (services) =>
      services.map(
        ({ agentId, serviceName }) =>
          traffic.get(`${agentId}/${serviceName}`) ?? { bytesRelayed: 0, openStreams: 0, streams: [] },
      );
    ({ apiKey: keyA, workspaceId: workspaceA } = await harness.createTestWorkspace("Acme"));
    ({ apiKey: keyB, workspaceId: workspaceB } = await harness.createTestWorkspace("Contractor"));
    server = await harness.registerTestAgent(keyA, "db-server");
    laptop = await harness.registerTestAgent(keyA, "laptop");
    contractor = await harness.registerTestAgent(keyB, "contractor-laptop");
    await (await harness.caller(server.token)).services.expose({ name: "prod-db", targetHost: "127.0.0.1", targetPort: 5432 });
    await (await harness.caller(server.token)).services.expose({ name: "redis", targetHost: "127.0.0.1", targetPort: 6379 });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("lists the workspace's agents, online first, with masked addresses and IP changes", async () => {
    await recordAgentSeen(harness.deps, principal(server, workspaceA, "db-server"), { ip: "192.168.1.20" });
    await recordAgentSeen(harness.deps, principal(server, workspaceA, "db-server"), { ip: "::ffff:10.20.30.40" });
    harness.online.add(server.agentId);

    const agents = await (await harness.caller(keyA)).agents.list();
    expect(agents.map((agent) => [agent.label, agent.online])).toEqual([
      ["db-server", true],
      ["laptop", false],
    ]);
    const [first, second] = agents;
    expect(first).toMatchObject({
      agentId: server.agentId,
      clientType: "cli",
      lastIp: "10.20.x.x",
      isProvisioned: false,
      recentIpChanges: [{ previousIp: "192.168.x.x", newIp: "10.20.x.x", at: expect.any(String) }],
    });
    expect(first?.lastSeenAt).not.toBeNull();
    expect(new Date(first?.tokenExpiresAt ?? 0).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(second).toMatchObject({ agentId: laptop.agentId, lastSeenAt: null, lastIp: null, recentIpChanges: [] });
    // Nowhere in the answer is a whole address.
    expect(JSON.stringify(agents)).not.toMatch(/192\.168\.1\.20|10\.20\.30\.40/);
    harness.online.delete(server.agentId);
  });

  it.skipIf(skip)("shows a signed-in member the same list, and an agent too", async () => {
    const user = await harness.signIn("owner@acme.test");
    const own = user.workspaces[0];
    expect(own).toBeDefined();
    // A fresh user's own workspace has no agents yet: the empty state.
    expect(await (await user.in(own?.id ?? "")).agents.list()).toEqual([]);
    const asLaptop = await (await harness.caller(laptop.token)).agents.list();
    expect(asLaptop.map((agent) => agent.label).sort()).toEqual(["db-server", "laptop"]);
  });

  it.skipIf(skip)("never lists another workspace's agents (outsider)", async () => {
    const fromB = await (await harness.caller(keyB)).agents.list();
    expect(fromB.map((agent) => agent.agentId)).toEqual([contractor.agentId]);
    const outsider = await harness.signIn("eve@rival.test");
    await expect((await outsider.in(workspaceA)).agents.list()).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it.skipIf(skip)("reports each service's open connections and bytes, naming who reaches it", async () => {
    const asKeyA = await harness.caller(keyA);
    const share = await asKeyA.shares.create({ name: "contractor", services: ["prod-db"] });
    await (await harness.caller(contractor.token)).shares.join({ code: share.code });
    traffic.set(`${server.agentId}/prod-db`, {
      bytesRelayed: 5_000,
      // More are open than the relay listed (it lists the largest): the count says so.
      openStreams: 4,
      streams: [
        { clientAgentId: laptop.agentId, bytes: 100 },
        { clientAgentId: contractor.agentId, shareId: share.id, bytes: 900, isEndToEnd: true },
        { bytes: 40 },
      ],
    });

    const view = await asKeyA.services.traffic();
    expect(view).toEqual([
      {
        name: "prod-db",
        openConnections: 4,
        bytesRelayed: 5_000,
        connections: [
          { via: "share", agentLabel: "contractor-laptop", shareName: "contractor", bytes: 900, isEndToEnd: true },
          // A relay that does not say (an older hub of the cluster) is not taken to encrypt.
          { via: "agent", agentLabel: "laptop", shareName: null, bytes: 100, isEndToEnd: false },
          { via: "link", agentLabel: null, shareName: null, bytes: 40, isEndToEnd: false },
        ],
      },
      { name: "redis", openConnections: 0, bytesRelayed: 0, connections: [] },
    ]);
  });

  it.skipIf(skip)("gives another workspace none of those counters (outsider)", async () => {
    expect(await (await harness.caller(keyB)).services.traffic()).toEqual([]);
  });

  it.skipIf(skip)("points sign-in links and device logins at the dashboard when it has an address of its own", async () => {
    harness.deps.config.dashboardUrl = "http://dashboard.test:3000";
    try {
      await harness.signIn("dashboard-user@acme.test");
      expect(harness.sentMail.at(-1)?.url).toMatch(/^http:\/\/dashboard\.test:3000\/auth\/verify\?token=[A-Za-z0-9_-]+$/);
      const started = await (await harness.caller()).deviceAuth.start({ label: "build-box", hubUrl: "http://hub.test:3001" });
      expect(started.verificationUrl).toMatch(/^http:\/\/dashboard\.test:3000\/device\?code=/);
    } finally {
      harness.deps.config.dashboardUrl = undefined;
    }
    // Without one, both stay where they were: the public URL.
    await harness.signIn("plain-user@acme.test");
    expect(harness.sentMail.at(-1)?.url).toMatch(/^https:\/\/app\.private-connect\.test\/auth\/verify\?token=/);
  });

  it.skipIf(skip)("reports zeros where no relay runs", async () => {
    const describe = harness.deps.presence.describeServiceTraffic;
    harness.deps.presence.describeServiceTraffic = undefined;
    try {
      const view = await (await harness.caller(keyA)).services.traffic();
      expect(view.map((service) => [service.name, service.openConnections, service.bytesRelayed])).toEqual([
        ["prod-db", 0, 0],
        ["redis", 0, 0],
      ]);
    } finally {
      harness.deps.presence.describeServiceTraffic = describe;
    }
    expect(workspaceB).toBeDefined();
  });
});
