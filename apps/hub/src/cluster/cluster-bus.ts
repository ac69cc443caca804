import {
  type Revocation,
  type Revocations,
  revocationSchema,
  type WorkspaceEvent,
  type WorkspaceEvents,
  workspaceEvent,
} from "@private-connect/api";
import { z } from "zod";
import type { Logger } from "../logger.js";
import type { ClusterRedis } from "./redis-client.js";

export interface Kick {
  agentId: string;
  /** The connection to close: a newer connection of the same agent (another epoch) stays. */
  epoch: string;
  reason: string;
}

export interface ClusterBus {
  /** Wraps the in-process buses: publish = local delivery + Redis; other hubs' messages = local delivery. */
  revocations(local: Revocations): Revocations;
  workspaceEvents(local: WorkspaceEvents): WorkspaceEvents;
  /** Asks one hub to close one agent connection. Throws RedisUnavailable when Redis is away. */
  sendKick(hubId: string, kick: Kick): Promise<void>;
  onKick(listener: (kick: Kick) => void): () => void;
  /**
   * A message for one hub's inbox (a kick, a question or its answer), sent with this hub's id as
   * `from`. Throws RedisUnavailable when Redis is away.
   */
  sendToHub(hubId: string, message: HubMessageBody): Promise<void>;
  /** Listens for one kind of message in this hub's inbox; returns how to stop. */
  onHubMessage<K extends HubMessage["kind"]>(kind: K, listener: (message: Extract<HubMessage, { kind: K }>) => void): () => void;
  /** Stops listening; the Redis connections stay open (they belong to the caller). */
  close(): Promise<void>;
}

/** The largest traffic question or answer a hub sends: a workspace's services, a page of streams each. */
const MAX_SERVICES_ASKED = 5_000;
const MAX_STREAMS_LISTED = 1_000;
const count = z.number().int().nonnegative();

const serviceTraffic = z.object({
  bytesRelayed: count,
  openStreams: count,
  streams: z
    .array(
      z.object({
        clientAgentId: z.string().optional(),
        shareId: z.string().optional(),
        bytes: count,
        // Absent from hubs of a version before end-to-end streams.
        isEndToEnd: z.boolean().optional(),
      }),
    )
    .max(MAX_STREAMS_LISTED),
});

const hubMessage = z.discriminatedUnion("kind", [
  z.object({
    from: z.string().min(1),
    kind: z.literal("kick"),
    agentId: z.string().min(1),
    epoch: z.string().min(1),
    reason: z.string(),
  }),
  // The dashboard's traffic of services whose agents this hub holds, asked by the hub serving the page.
  z.object({
    from: z.string().min(1),
    kind: z.literal("trafficQuery"),
    requestId: z.string().min(1),
    listed: z.number().int().min(0).max(MAX_STREAMS_LISTED),
    services: z.array(z.object({ agentId: z.string().min(1), serviceName: z.string().min(1) })).max(MAX_SERVICES_ASKED),
  }),
  z.object({
    from: z.string().min(1),
    kind: z.literal("trafficReply"),
    requestId: z.string().min(1),
    traffic: z.array(serviceTraffic).max(MAX_SERVICES_ASKED),
  }),
]);
/** A message in one hub's inbox (`P hub:<id>:inbox`). */
export type HubMessage = z.infer<typeof hubMessage>;
/** A message as its sender writes it: the bus adds `from`. */
export type HubMessageBody = HubMessage extends infer M ? (M extends HubMessage ? Omit<M, "from"> : never) : never;

const busMessage = z.discriminatedUnion("kind", [
  z.object({ from: z.string().min(1), kind: z.literal("revocation"), revocation: revocationSchema }),
  z.object({ from: z.string().min(1), kind: z.literal("workspaceEvent"), workspaceId: z.string().min(1), event: workspaceEvent }),
]);
type BusMessage = z.infer<typeof busMessage>;

/**
 * Revocations whose publish failed while Redis was away, sent again once it is back. Bounded:
 * past it the oldest are dropped (the other hubs' agent sweep and the database still refuse new
 * opens for them, so this only bounds how late an already open stream elsewhere is cut).
 */
const MAX_PENDING_REVOCATIONS = 1_000;

/**
 * The hubs' pub/sub over Redis: `P bus`, which every hub hears, for revocations and workspace
 * events, and `P hub:<id>:inbox`, which only that hub hears, for kicks and for questions to that
 * hub (the traffic of its agents' services) and their answers. Messages are JSON with
 * the sender's hub id; each is parsed with the same zod schema the API defines, so a message from
 * a hub running other code, or anything else written on the channel, is logged and dropped
 * rather than half-delivered. One subscription on the shared subscriber connection, which
 * resubscribes by itself after Redis comes back.
 */
export async function createClusterBus(redis: ClusterRedis, hubId: string, log: Logger): Promise<ClusterBus> {
  const busChannel = redis.key("bus");
  const inboxChannel = redis.key("hub", hubId, "inbox");
  const revocationTargets = new Set<Revocations>();
  const eventTargets = new Set<WorkspaceEvents>();
  const inboxListeners = new Map<HubMessage["kind"], Set<(message: HubMessage) => void>>();
  const pendingRevocations: Revocation[] = [];
  let isClosed = false;

  function parse<T>(schema: z.ZodType<T>, channel: string, text: string): T | undefined {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      log.warn({ channel, bytes: text.length }, "dropped a cluster message that is not JSON");
      return undefined;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    log.warn(
      { channel, issues: parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".")}: ${issue.message}`) },
      "dropped a cluster message of a shape this hub does not know",
    );
    return undefined;
  }

  function deliverBusMessage(message: BusMessage): void {
    // This hub delivered its own messages locally when it published them.
    if (message.from === hubId) return;
    if (message.kind === "revocation") {
      for (const target of revocationTargets) target.publish(message.revocation);
      return;
    }
    for (const target of eventTargets) target.publish(message.workspaceId, message.event);
  }

  function deliverToInbox(message: HubMessage): void {
    for (const listener of [...(inboxListeners.get(message.kind) ?? [])]) {
      try {
        listener(message);
      } catch (error) {
        log.error({ err: error, kind: message.kind, from: message.from }, "a cluster inbox listener failed");
      }
    }
  }

  function onHubMessage<K extends HubMessage["kind"]>(
    kind: K,
    listener: (message: Extract<HubMessage, { kind: K }>) => void,
  ): () => void {
    const listeners = inboxListeners.get(kind) ?? new Set();
    inboxListeners.set(kind, listeners);
    const untyped = listener as (message: HubMessage) => void;
    listeners.add(untyped);
    return () => listeners.delete(untyped);
  }

  const onMessage = (channel: string, text: string) => {
    if (isClosed) return;
    if (channel === busChannel) {
      const message = parse(busMessage, channel, text);
      if (message !== undefined) deliverBusMessage(message);
    } else if (channel === inboxChannel) {
      const message = parse(hubMessage, channel, text);
      if (message !== undefined) deliverToInbox(message);
    }
    // Other channels belong to other users of the shared subscriber connection.
  };

  redis.subscriber.on("message", onMessage);
  try {
    await redis.subscriber.subscribe(busChannel, inboxChannel);
  } catch (error) {
    redis.subscriber.off("message", onMessage);
    throw error;
  }

  async function publish(channel: string, message: BusMessage | HubMessage): Promise<void> {
    await redis.run((command) => command.publish(channel, JSON.stringify(message)));
  }

  /**
   * What a Redis outage costs a revocation: the local cut has already happened, and the database
   * refuses every new open on every hub; other hubs learn of it late. Failed publishes are kept
   * and sent again when Redis is back; a revoked agent connected elsewhere is also closed by that
   * hub's revocation sweep (every minute). Until one of those, streams already open on other hubs
   * through the revoked share, link or key keep flowing.
   */
  function publishRevocation(revocation: Revocation): void {
    publish(busChannel, { from: hubId, kind: "revocation", revocation }).catch((error: unknown) => {
      pendingRevocations.push(revocation);
      if (pendingRevocations.length > MAX_PENDING_REVOCATIONS) pendingRevocations.shift();
      log.warn(
        { err: String(error), kind: revocation.kind, pending: pendingRevocations.length },
        "could not tell the other hubs of a revocation: it is sent again when Redis is back",
      );
    });
  }

  const stopResending = redis.onReconnect(() => {
    const resend = pendingRevocations.splice(0);
    // Cutting twice is harmless, so a publish that timed out but did arrive costs nothing here.
    for (const revocation of resend) publishRevocation(revocation);
    if (resend.length > 0) log.info({ revocations: resend.length }, "sent the revocations Redis missed to the other hubs");
  });

  return {
    revocations(local) {
      revocationTargets.add(local);
      return {
        publish(revocation) {
          local.publish(revocation);
          publishRevocation(revocation);
        },
        subscribe: (listener) => local.subscribe(listener),
      };
    },

    workspaceEvents(local) {
      eventTargets.add(local);
      return {
        publish(workspaceId, event: WorkspaceEvent) {
          local.publish(workspaceId, event);
          // Live updates are a convenience: a dashboard that missed one during an outage shows
          // the truth at its next read, so nothing is kept to resend.
          publish(busChannel, { from: hubId, kind: "workspaceEvent", workspaceId, event }).catch((error: unknown) => {
            log.warn({ err: String(error), type: event.type }, "could not tell the other hubs of a workspace event");
          });
        },
        subscribe: (workspaceId, options) => local.subscribe(workspaceId, options),
        countSubscribers: (workspaceId) => local.countSubscribers(workspaceId),
      };
    },

    async sendKick(targetHubId, kick) {
      await publish(redis.key("hub", targetHubId, "inbox"), { from: hubId, kind: "kick", ...kick });
    },

    onKick(listener) {
      return onHubMessage("kick", (message) =>
        listener({ agentId: message.agentId, epoch: message.epoch, reason: message.reason }),
      );
    },

    async sendToHub(targetHubId, message) {
      await publish(redis.key("hub", targetHubId, "inbox"), { ...message, from: hubId } as HubMessage);
    },

    onHubMessage,

    async close() {
      if (isClosed) return;
      isClosed = true;
      stopResending();
      redis.subscriber.off("message", onMessage);
      revocationTargets.clear();
      eventTargets.clear();
      inboxListeners.clear();
      // While Redis is away an unsubscribe would wait for it; the subscription then dies with
      // the connection anyway.
      if (redis.subscriber.status !== "ready") return;
      try {
        await redis.subscriber.unsubscribe(busChannel, inboxChannel);
      } catch (error) {
        log.debug({ err: String(error) }, "could not unsubscribe from the cluster bus");
      }
    },
  };
}
