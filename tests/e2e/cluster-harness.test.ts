// The cluster test harness itself, before any cluster behaviour is asked of it: hubs on one
// database and one Redis prefix behind a real HAProxy that health-checks /readyz, so that a hub
// killed with SIGKILL leaves the rotation within about a second and requests keep being served.
import { afterAll, describe, expect, it } from "vitest";
import { closeClusters, deleteKeys, isRedisUp, listKeys, readyz, startCluster } from "../support/cluster.ts";
import { closeHaproxies, findHaproxy, startHaproxy } from "../support/haproxy.ts";

afterAll(async () => {
  await closeHaproxies();
  await closeClusters();
});

describe("cluster harness", () => {
  it("serves /healthz through HAProxy, drops a killed hub from the rotation within about a second, and cleans its keys", {
    timeout: 120_000,
  }, async (ctx) => {
    if (!findHaproxy() || !(await isRedisUp())) {
      console.warn("WARNING: no haproxy or no Redis on 127.0.0.1:6379: SKIPPING the cluster harness test");
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
});
