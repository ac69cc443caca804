import { afterEach, describe, expect, it } from "vitest";
import { type AgentLocation, createAgentLocations } from "./agent-locations.js";
import { RedisUnavailable } from "./redis-client.js";
import { createTestRedis, deleteKeysWithPrefix, type TestRedis } from "./test-redis.js";

let testRedis: TestRedis | undefined;

afterEach(async () => {
  await testRedis?.cleanup();
  testRedis = undefined;
});

const onHubA: AgentLocation = { agentId: "agent-1", hubId: "hub-a", epoch: "epoch-a", ip: "10.0.0.1" };
const onHubB: AgentLocation = { agentId: "agent-1", hubId: "hub-b", epoch: "epoch-b", ip: "10.0.0.2" };

async function twoHubs() {
  testRedis = createTestRedis();
  const a = await testRedis.connect();
  const b = await testRedis.connect();
  return { a: createAgentLocations(a), b: createAgentLocations(b), redis: a };
}

describe("agent locations", () => {
  it("lets the newest connection win and says which one it replaced", async () => {
    const { a, b } = await twoHubs();
    expect(await a.claim(onHubA)).toBeUndefined();
    expect(await b.locate("agent-1")).toEqual(onHubA);

    expect(await b.claim(onHubB)).toEqual(onHubA);
    expect(await a.locate("agent-1")).toEqual(onHubB);
  });

  it("keeps the agent process's id, so the next claim can tell a reconnect from a copied token", async () => {
    const { a, b } = await twoHubs();
    await a.claim({ ...onHubA, instance: "process-1" });
    expect(await b.claim({ ...onHubB, instance: "process-2" })).toEqual({ ...onHubA, instance: "process-1" });
    expect(await a.locate("agent-1")).toEqual({ ...onHubB, instance: "process-2" });
    // Re-created by a refresh after Redis lost it: the id comes back too.
    await b.release("agent-1", "epoch-b");
    await b.refresh([{ ...onHubB, instance: "process-2" }]);
    expect(await a.locate("agent-1")).toEqual({ ...onHubB, instance: "process-2" });
  });

  it("tells the hub that lost an agent to a newer connection, and keeps the newer record", async () => {
    const { a, b, redis } = await twoHubs();
    await a.claim(onHubA);
    await a.claim({ ...onHubA, agentId: "agent-2", epoch: "epoch-a2" });
    await b.claim(onHubB);

    expect(await a.refresh([onHubA, { ...onHubA, agentId: "agent-2", epoch: "epoch-a2" }])).toEqual(["agent-1"]);
    expect(await b.refresh([onHubB])).toEqual([]);
    expect(await b.locate("agent-1")).toEqual(onHubB);
    expect(await redis.command.pttl(redis.key("agent", "agent-1"))).toBeGreaterThan(25_000);
  });

  it("releases only its own connection's record", async () => {
    const { a, b } = await twoHubs();
    await a.claim(onHubA);
    await b.claim(onHubB);
    // Hub A's connection closes late, after B's took over: B's record stays.
    await a.release("agent-1", onHubA.epoch);
    expect(await b.locate("agent-1")).toEqual(onHubB);

    await b.release("agent-1", onHubB.epoch);
    expect(await a.locate("agent-1")).toBeUndefined();
  });

  it("expires a record its hub stopped refreshing, and extends one it refreshes", async () => {
    testRedis = createTestRedis();
    const redis = await testRedis.connect();
    const locations = createAgentLocations(redis, { ttlMs: 150 });
    await locations.claim(onHubA);
    await locations.claim({ ...onHubA, agentId: "agent-2" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await locations.refresh([{ ...onHubA, agentId: "agent-2" }])).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await locations.locate("agent-1")).toBeUndefined();
    expect(await locations.locate("agent-2")).toBeDefined();
  });

  it("re-creates the records Redis lost in a restart at the next refresh", async () => {
    const { a, b } = await twoHubs();
    await a.claim(onHubA);
    if (!testRedis) throw new Error("no test Redis");
    await deleteKeysWithPrefix(testRedis.prefix);
    expect(await b.locate("agent-1")).toBeUndefined();

    expect(await a.refresh([onHubA])).toEqual([]);
    expect(await b.locate("agent-1")).toEqual(onHubA);
  });

  it("refreshes and locates many agents at once", async () => {
    const { a, b } = await twoHubs();
    // More than one script call's worth, with some taken over by hub B.
    const agents = Array.from({ length: 450 }, (_, index) => ({ ...onHubA, agentId: `agent-${index}`, epoch: `epoch-${index}` }));
    await Promise.all(agents.map((agent) => a.claim(agent)));
    const takenOver = ["agent-3", "agent-250", "agent-449"];
    await Promise.all(takenOver.map((agentId) => b.claim({ ...onHubB, agentId })));

    expect((await a.refresh(agents)).sort()).toEqual([...takenOver].sort());
    const found = await b.locateMany([...agents.map((agent) => agent.agentId), "agent-unknown", "agent-3"]);
    expect(found.size).toBe(450);
    expect(found.get("agent-0")).toEqual(agents[0]);
    expect(found.get("agent-250")?.hubId).toBe("hub-b");
    expect(found.has("agent-unknown")).toBe(false);
    expect(await a.refresh([])).toEqual([]);
    expect(await a.locateMany([])).toEqual(new Map());
  });

  it("fails with RedisUnavailable when Redis cannot be reached", async () => {
    testRedis = createTestRedis();
    const redis = await testRedis.connect();
    const locations = createAgentLocations(redis);
    redis.command.disconnect();
    await expect(locations.claim(onHubA)).rejects.toBeInstanceOf(RedisUnavailable);
    await expect(locations.refresh([onHubA])).rejects.toBeInstanceOf(RedisUnavailable);
    await expect(locations.release("agent-1", "epoch-a")).rejects.toBeInstanceOf(RedisUnavailable);
    await expect(locations.locate("agent-1")).rejects.toBeInstanceOf(RedisUnavailable);
    await expect(locations.locateMany(["agent-1"])).rejects.toBeInstanceOf(RedisUnavailable);
  });
});
