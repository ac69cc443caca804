// The cluster test harness itself, before any cluster behaviour is asked of it: hubs on one
// database and one Redis prefix behind a real HAProxy that health-checks /readyz, so that a hub
// killed with SIGKILL leaves the rotation within about a second and requests keep being served;
// and the one start-time check of a cluster: a hub with other secrets than the cluster's refuses to start.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { closeClusters, deleteKeys, listKeys, missingForCluster, readyz, startCluster } from "../support/cluster.ts";
import { closeHaproxies, startHaproxy } from "../support/haproxy.ts";

afterAll(async () => {
  await closeHaproxies();
  await closeClusters();
});

describe("cluster harness", () => {
  it("serves /healthz through HAProxy, drops a killed hub from the rotation within about a second, and cleans its keys", {
    timeout: 120_000,
  }, async (ctx) => {
    const missing = await missingForCluster({ haproxy: true });
    if (missing) {
      console.warn(`WARNING: ${missing}: SKIPPING the cluster harness test`);
      ctx.skip();
      return;
    }
    const cluster = await startCluster({ hubs: 2 });
    if (!cluster) {
      ctx.skip();
      return;
    }
    const [first, second] = cluster.hubs;
    if (!first || !second) throw new Error("expected two hubs");
    expect(cluster.hubs.map((hub) => hub.hubId)).toEqual(["hub-1", "hub-2"]);
    expect(cluster.prefix).toMatch(/^pc-test-[0-9a-f]{12}:$/);
    for (const hub of cluster.hubs) expect((await readyz(hub)).status).toBe(200);

    const proxy = await startHaproxy({
      backends: cluster.hubs.map((hub) => ({ name: hub.hubId, port: hub.port })),
    });
    const healthz = async () => {
      const response = await fetch(`${proxy.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      return { status: response.status, body: await response.json() };
    };
    for (let i = 0; i < 4; i++) expect(await healthz()).toEqual({ status: 200, body: { status: "ok" } });

    await cluster.killHub(first);
    const killedAt = Date.now();
    await proxy.waitForServer("hub-1", "DOWN", 5_000);
    const downMs = Date.now() - killedAt;
    console.info(`haproxy marked a SIGKILLed hub down after ${downMs} ms`);
    expect(downMs).toBeLessThan(2_000);
    // Redispatch and the health check together: no request lands on the dead hub.
    for (let i = 0; i < 6; i++) expect((await healthz()).status).toBe(200);
    expect((await proxy.serverStatuses()).get("hub-2")).toMatch(/^UP/);

    // Teardown leaves nothing of this cluster in Redis.
    const probe = cluster.redis.duplicate();
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.set(`${cluster.prefix}harness-probe`, "1", "EX", 60);
      await cluster.close();
      expect(await listKeys(probe, cluster.prefix)).toEqual([]);
    } finally {
      await deleteKeys(probe, cluster.prefix).catch(() => {});
      probe.disconnect();
    }
  });

  it("refuses to start a hub whose JWT_SECRET or CLUSTER_SECRET differs from the cluster's, naming the variable", {
    timeout: 120_000,
  }, async (ctx) => {
    const missing = await missingForCluster();
    if (missing) {
      console.warn(`WARNING: ${missing}: SKIPPING the cluster secrets test`);
      ctx.skip();
      return;
    }
    const cluster = await startCluster({ hubs: 1 });
    if (!cluster) {
      ctx.skip();
      return;
    }
    await expect(
      cluster.addHub({ hubId: "hub-odd", env: { JWT_SECRET: randomBytes(32).toString("base64url") }, readyTimeoutMs: 30_000 }),
    ).rejects.toThrow(/JWT_SECRET differs from [^\n]*hub-1[^\n]*give every hub the same JWT_SECRET/);
    await expect(
      cluster.addHub({ hubId: "hub-odd", env: { CLUSTER_SECRET: randomBytes(32).toString("hex") }, readyTimeoutMs: 30_000 }),
    ).rejects.toThrow(/CLUSTER_SECRET differs from [^\n]*hub-1[^\n]*give every hub the same CLUSTER_SECRET/);
    // The same secrets join.
    expect((await cluster.addHub({ hubId: "hub-even" })).hubId).toBe("hub-even");
    await cluster.close();
  });
});
