// Two hubs' buses on one Redis prefix: one asks the other for its services' traffic and gets the
// other's own counters, in the order asked; a hub that does not answer, or an answer from a hub
// that was not asked, costs the asker a bounded wait and nothing else.
import { randomUUID } from "node:crypto";
import type { ServiceRef, ServiceTraffic } from "@private-connect/api";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { type ClusterBus, createClusterBus } from "./cluster-bus.js";
import { type ClusterRedis, connectClusterRedis } from "./redis-client.js";
import { createRemoteTraffic, type DescribeLocalTraffic, type RemoteTraffic } from "./remote-traffic.js";
import { TEST_REDIS_URL as REDIS_URL } from "./test-redis.js";

const log = createLogger("silent");
const opened: { redis: ClusterRedis; bus: ClusterBus; traffic: RemoteTraffic }[] = [];

afterEach(async () => {
  for (const { redis, bus, traffic } of opened.splice(0)) {
    traffic.close();
    await bus.close();
    await redis.close();
  }
});

async function openHub(prefix: string, hubId: string, describeLocal: DescribeLocalTraffic, timeoutMs = 2_000) {
  const redis = await connectClusterRedis({ url: REDIS_URL, prefix, log });
  const bus = await createClusterBus(redis, hubId, log);
  const traffic = createRemoteTraffic(bus, describeLocal, log, timeoutMs);
  opened.push({ redis, bus, traffic });
  return { bus, traffic };
}

const none: DescribeLocalTraffic = (services) => services.map(() => ({ bytesRelayed: 0, openStreams: 0, streams: [] }));

/** A relay whose counters are known: `bytes` per service name, one open stream per 100 bytes. */
function relayWith(bytes: Record<string, number>): { describe: DescribeLocalTraffic; asked: ServiceRef[][] } {
  const asked: ServiceRef[][] = [];
  const describe: DescribeLocalTraffic = (services, listed) => {
    asked.push(services);
    return services.map(({ agentId, serviceName }): ServiceTraffic => {
      const total = bytes[serviceName] ?? 0;
      const streams = Array.from({ length: Math.floor(total / 100) }, () => ({ clientAgentId: `${agentId}-client`, bytes: 100 }));
      return { bytesRelayed: total, openStreams: streams.length, streams: streams.slice(0, listed) };
    });
  };
  return { describe, asked };
}

describe("createRemoteTraffic", () => {
  it("gets the holding hub's own counters, in the order asked, with at most `listed` streams", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const holder = relayWith({ "prod-db": 500, redis: 0, web: 200 });
    await openHub(prefix, "hub-b", holder.describe);
    const { traffic } = await openHub(prefix, "hub-a", none);

    const services = [
      { agentId: "agent-1", serviceName: "web" },
      { agentId: "agent-1", serviceName: "prod-db" },
      { agentId: "agent-2", serviceName: "redis" },
    ];
    const answers = await traffic.ask("hub-b", services, 3);

    expect(holder.asked).toEqual([services]);
    expect(answers.map((answer) => [answer.bytesRelayed, answer.openStreams, answer.streams.length])).toEqual([
      [200, 2, 2],
      [500, 5, 3],
      [0, 0, 0],
    ]);
    expect(answers[1]?.streams[0]).toEqual({ clientAgentId: "agent-1-client", bytes: 100 });
  });

  it("fails a question nobody answers once its timeout has passed", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const { traffic } = await openHub(prefix, "hub-a", none, 300);
    const started = Date.now();
    await expect(traffic.ask("hub-gone", [{ agentId: "agent-1", serviceName: "web" }], 10)).rejects.toThrow(
      /hub-gone did not answer within 300 ms/,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("ignores an answer from a hub that was not asked, even with the right request id", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const asker = await openHub(prefix, "hub-a", none, 500);
    const intruder = await openHub(prefix, "hub-c", none);
    // A bystander on hub-b's inbox (no hub-b runs) reads the question's request id off it.
    const bystander = await connectClusterRedis({ url: REDIS_URL, prefix, log });
    try {
      const question = new Promise<{ requestId: string }>((resolve) => {
        bystander.subscriber.on("message", (_channel: string, text: string) => resolve(JSON.parse(text)));
      });
      await bystander.subscriber.subscribe(bystander.key("hub", "hub-b", "inbox"));
      const asking = asker.traffic.ask("hub-b", [{ agentId: "agent-1", serviceName: "web" }], 10);
      const { requestId } = await question;
      await intruder.bus.sendToHub("hub-a", {
        kind: "trafficReply",
        requestId,
        traffic: [{ bytesRelayed: 999, openStreams: 9, streams: [] }],
      });
      await expect(asking).rejects.toThrow(/hub-b did not answer/);
    } finally {
      await bystander.close();
    }
  });

  it("stops waiting when closed", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const { traffic } = await openHub(prefix, "hub-a", none, 10_000);
    const asking = traffic.ask("hub-b", [{ agentId: "agent-1", serviceName: "web" }], 10);
    traffic.close();
    await expect(asking).rejects.toThrow(/stopping/);
  });
});
