import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";

// services.shared: what `connect services` lists beside the workspace's own services. Joins are
// per agent, so only the agent that joined sees a share's services, and nobody else does.
describe.each(testEngines)("services.shared on $name", ({ name, skip }) => {
  let harness: Harness;
  let keyA: string;
  let keyB: string;
  let serverA: { agentId: string; token: string };
  let laptopB: { agentId: string; token: string };
  let otherB: { agentId: string; token: string };
  let outsiderC: { agentId: string; token: string };
  let slugA: string;
  let shareCode: string;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    const a = await harness.createTestWorkspace("Shared Acme");
    const b = await harness.createTestWorkspace("Shared Contractor");
    const c = await harness.createTestWorkspace("Shared Outsider");
    keyA = a.apiKey;
    keyB = b.apiKey;
    serverA = await harness.registerTestAgent(keyA, "db-server");
    laptopB = await harness.registerTestAgent(keyB, "laptop");
    otherB = await harness.registerTestAgent(keyB, "ci-runner");
    outsiderC = await harness.registerTestAgent(c.apiKey, "c-server");
    const asServerA = await harness.caller(serverA.token);
    for (const service of ["prod-db", "redis", "secret-admin"]) {
      await asServerA.services.expose({ name: service, targetHost: "127.0.0.1", targetPort: 5432 });
    }
    const created = await asServerA.shares.create({ name: "contract", services: ["prod-db", "redis"] });
    shareCode = created.code;
    const joined = await (await harness.caller(laptopB.token)).shares.join({ code: shareCode });
    slugA = joined.from;
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("lists the services a joined share grants, from the sharing workspace, online as presence says", async () => {
    const asLaptop = await harness.caller(laptopB.token);
    expect(await asLaptop.services.shared()).toEqual([
      { name: "prod-db", from: slugA, shareName: "contract", expiresAt: expect.any(String), online: false },
      { name: "redis", from: slugA, shareName: "contract", expiresAt: expect.any(String), online: false },
    ]);
    harness.online.add(serverA.agentId);
    try {
      expect((await asLaptop.services.shared()).map((service) => service.online)).toEqual([true, true]);
    } finally {
      harness.online.delete(serverA.agentId);
    }
  });

  it.skipIf(skip)("shows nothing to an agent that did not join, to an outsider, or to the sharing workspace itself", async () => {
    expect(await (await harness.caller(otherB.token)).services.shared()).toEqual([]);
    expect(await (await harness.caller(outsiderC.token)).services.shared()).toEqual([]);
    expect(await (await harness.caller(serverA.token)).services.shared()).toEqual([]);
  });

  it.skipIf(skip)("needs an agent token: joins belong to an agent, not to an API key", async () => {
    await expectAppError((await harness.caller(keyB)).services.shared(), "FORBIDDEN", /needs an agent token/);
  });

  it.skipIf(skip)("leaves out a service the sharing workspace no longer exposes", async () => {
    const asServerA = await harness.caller(serverA.token);
    await asServerA.services.unexpose({ name: "redis" });
    try {
      expect((await (await harness.caller(laptopB.token)).services.shared()).map((service) => service.name)).toEqual(["prod-db"]);
    } finally {
      await asServerA.services.expose({ name: "redis", targetHost: "127.0.0.1", targetPort: 6379 });
    }
  });

  it.skipIf(skip)("leaves out an expired share, and a revoked one", async () => {
    const asLaptop = await harness.caller(laptopB.token);
    harness.setNow(new Date(Date.now() + 8 * 86_400_000));
    try {
      expect(await asLaptop.services.shared()).toEqual([]);
    } finally {
      harness.setNow(undefined);
    }
    await (await harness.caller(keyA)).shares.revoke({ code: shareCode });
    expect(await asLaptop.services.shared()).toEqual([]);
  });
});
