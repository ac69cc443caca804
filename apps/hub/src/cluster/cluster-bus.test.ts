// Two and three buses on one Redis prefix, as hubs of one cluster: what each hub's local
// listeners hear, once, and what garbage on the channels costs (nothing but a log line).
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { createRevocations, createWorkspaceEvents, type Revocation, type WorkspaceEvent } from "@private-connect/api";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, type Logger } from "../logger.js";
import { type ClusterBus, createClusterBus, type Kick } from "./cluster-bus.js";
import { type ClusterRedis, connectClusterRedis } from "./redis-client.js";
import { TEST_REDIS_URL as REDIS_URL } from "./test-redis.js";

const WORKSPACE = "00000000-0000-4000-8000-00000000000a";
const AGENT = "00000000-0000-4000-8000-0000000000ff";

function captureLogger(): { log: Logger; messages: () => string[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  const messages = () =>
    chunks
      .join("")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
  return { log: createLogger("debug", destination), messages };
}

/** Resolves with the first value `accept` takes, or fails naming it after a bounded wait. */
function waitFor<T>(subscribe: (listener: (value: T) => void) => () => void, what: string, accept: (value: T) => boolean) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for ${what}`));
    }, 5_000);
    const stop = subscribe((value) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      stop();
      resolve(value);
    });
  });
}

const opened: { redis: ClusterRedis; bus: ClusterBus }[] = [];
afterEach(async () => {
  for (const { redis, bus } of opened.splice(0)) {
    await bus.close();
    await redis.close();
  }
});

/** One hub's bus (and its own Redis connections, as a separate process would have). */
async function openHub(prefix: string, hubId: string, log: Logger = createLogger("silent")) {
  const redis = await connectClusterRedis({ url: REDIS_URL, prefix, log });
  const bus = await createClusterBus(redis, hubId, log);
  opened.push({ redis, bus });
  const revocations = bus.revocations(createRevocations());
  const heard: Revocation[] = [];
  revocations.subscribe((revocation) => heard.push(revocation));
  return { redis, bus, revocations, heard };
}

function shareRevoked(shareId: string): Revocation {
  return { kind: "share", shareId, workspaceId: WORKSPACE };
}

const isShare = (shareId: string) => (revocation: Revocation) => revocation.kind === "share" && revocation.shareId === shareId;

describe("createClusterBus", () => {
  it("delivers a revocation published on A to A's listeners once and to B's once", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const a = await openHub(prefix, "hub-a");
    const b = await openHub(prefix, "hub-b");

    const atB = waitFor(b.revocations.subscribe, "the revocation on B", isShare("s1"));
    a.revocations.publish(shareRevoked("s1"));
    // The local cut does not wait for Redis.
    expect(a.heard).toEqual([shareRevoked("s1")]);
    await atB;

    // Pub/sub keeps order: once a marker published after s1 has arrived, any duplicate of s1
    // (or A's own echo of it) would have arrived first.
    const markerAtA = waitFor(a.revocations.subscribe, "B's marker on A", isShare("marker-b"));
    const markerAtB = waitFor(b.revocations.subscribe, "A's marker on B", isShare("marker-a"));
    b.revocations.publish(shareRevoked("marker-b"));
    a.revocations.publish(shareRevoked("marker-a"));
    await Promise.all([markerAtA, markerAtB]);
    expect(a.heard.filter(isShare("s1"))).toHaveLength(1);
    expect(b.heard.filter(isShare("s1"))).toHaveLength(1);
    expect(b.heard).toEqual([shareRevoked("s1"), shareRevoked("marker-b"), shareRevoked("marker-a")]);
  });

  it("carries workspace events to the other hub's subscribers of that workspace, as the schema parses them", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const a = await openHub(prefix, "hub-a");
    const b = await openHub(prefix, "hub-b");
    const eventsA = a.bus.workspaceEvents(createWorkspaceEvents());
    const eventsB = b.bus.workspaceEvents(createWorkspaceEvents());
    const subscriberB = eventsB.subscribe(WORKSPACE);
    const subscriberA = eventsA.subscribe(WORKSPACE);
    const online: WorkspaceEvent = { type: "agent.online", agentId: AGENT, label: "build-box" };

    eventsA.publish(WORKSPACE, online);
    const next = (iterator: AsyncIterator<WorkspaceEvent>) =>
      Promise.race([
        iterator.next(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no workspace event within 5 s")), 5_000)),
      ]);
    expect(await next(subscriberB)).toEqual({ value: online, done: false });
    expect(await next(subscriberA)).toEqual({ value: online, done: false });
    expect(eventsB.countSubscribers(WORKSPACE)).toBe(1);
    await subscriberA.return?.();
    await subscriberB.return?.();
  });

  it("delivers a kick to the named hub only", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const a = await openHub(prefix, "hub-a");
    const b = await openHub(prefix, "hub-b");
    const c = await openHub(prefix, "hub-c");
    const kicksB: Kick[] = [];
    const kicksC: Kick[] = [];
    b.bus.onKick((kick) => kicksB.push(kick));
    c.bus.onKick((kick) => kicksC.push(kick));
    const kick = { agentId: AGENT, epoch: randomUUID(), reason: "replaced by a newer connection" };

    const atB = waitFor(b.bus.onKick, "the kick on B", () => true);
    await a.bus.sendKick("hub-b", kick);
    expect(await atB).toEqual(kick);
    // A kick for C sent afterwards arrives alone: the first never reached C.
    const marker = { ...kick, epoch: randomUUID() };
    const atC = waitFor(c.bus.onKick, "the marker kick on C", () => true);
    await a.bus.sendKick("hub-c", marker);
    await atC;
    expect(kicksC).toEqual([marker]);
    expect(kicksB).toEqual([kick]);
  });

  it("logs and drops what does not parse, and goes on delivering", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const { log, messages } = captureLogger();
    const b = await openHub(prefix, "hub-b", log);
    const kicks: Kick[] = [];
    b.bus.onKick((kick) => kicks.push(kick));
    const publish = (channel: string, text: string) => b.redis.command.publish(`${prefix}${channel}`, text);

    await publish("bus", "not json {");
    await publish("bus", JSON.stringify({ from: "hub-x", kind: "revocation", revocation: { kind: "everything" } }));
    await publish(
      "bus",
      JSON.stringify({ from: "hub-x", kind: "workspaceEvent", workspaceId: WORKSPACE, event: { type: "agent.online" } }),
    );
    await publish("hub:hub-b:inbox", JSON.stringify({ from: "hub-x", kind: "kick", agentId: AGENT }));
    const valid = waitFor(b.revocations.subscribe, "the valid revocation", isShare("after-garbage"));
    const validKick = waitFor(b.bus.onKick, "the valid kick", () => true);
    await publish("bus", JSON.stringify({ from: "hub-x", kind: "revocation", revocation: shareRevoked("after-garbage") }));
    await publish("hub:hub-b:inbox", JSON.stringify({ from: "hub-x", kind: "kick", agentId: AGENT, epoch: "e1", reason: "r" }));
    await Promise.all([valid, validKick]);

    expect(b.heard).toEqual([shareRevoked("after-garbage")]);
    expect(kicks).toEqual([{ agentId: AGENT, epoch: "e1", reason: "r" }]);
    expect(messages().filter((message) => message.startsWith("dropped a cluster message"))).toHaveLength(4);
  });

  it("cuts locally while Redis is away, and tells the other hubs once it is back", async () => {
    const prefix = `pc-test-${randomUUID()}:`;
    const a = await openHub(prefix, "hub-a");
    const b = await openHub(prefix, "hub-b");
    const atB = waitFor(b.revocations.subscribe, "the revocation sent after the outage", isShare("during-outage"));
    // A's command connection drops (as in an outage) and reconnects by itself.
    a.redis.command.disconnect(true);
    a.revocations.publish(shareRevoked("during-outage"));
    expect(a.heard).toEqual([shareRevoked("during-outage")]);
    await expect(a.redis.run((redis) => redis.ping())).rejects.toThrow("cannot reach Redis");
    await atB;
    expect(b.heard).toEqual([shareRevoked("during-outage")]);
  });
});
