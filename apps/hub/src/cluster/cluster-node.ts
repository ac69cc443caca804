import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { RateLimiter, Revocations, ServiceRef, ServiceTraffic, WorkspaceEvents } from "@private-connect/api";
import { type PeerOpenRequest, ResetCode } from "@private-connect/protocol";
import type { Logger } from "pino";
import type { AgentConnection } from "../relay/agent-connection.js";
import { OpenRefusal } from "../relay/relay-authority.js";
import type { HubConnection, RelayCluster, ReplacedConnection } from "../relay/relay-cluster.js";
import { type AddressConnections, createAddressConnections } from "./address-connections.js";
import { type AgentLocations, createAgentLocations } from "./agent-locations.js";
import { type ClusterBus, createClusterBus } from "./cluster-bus.js";
import { createHubRegistry, type HubRecord, type HubRegistry } from "./hub-registry.js";
import { createPeerAcceptor, type PeerAcceptor, type PeerTlsMaterial } from "./peer-listener.js";
import { createPeerPool, type PeerPool, PeerUnreachable } from "./peer-pool.js";
import { type ClusterRedis, connectClusterRedis, REDIS_UNAVAILABLE_MESSAGE, RedisUnavailable } from "./redis-client.js";
import { createRemoteTraffic, type RemoteTraffic } from "./remote-traffic.js";
import { createSharedRateLimiter } from "./shared-rate-limiter.js";

/** What the cluster needs of this hub's relay: its agents, and the streams other hubs open. */
export interface ClusterRelay {
  listAgents(): AgentConnection[];
  isAgentOnline(agentId: string): boolean;
  openFromPeer(connection: HubConnection, streamId: number, request: PeerOpenRequest): void;
  closeReplacedConnection(agentId: string, epoch: string | undefined): boolean;
  describeServiceTraffic(services: ServiceRef[], listed: number): ServiceTraffic[];
}

export interface ClusterNodeOptions {
  redisUrl: string;
  keyPrefix: string;
  self: { hubId: string; peerUrl: string };
  secrets: { jwtSecret: string; encryptionKey: Uint8Array; clusterSecret: string };
  connectionsPerPeer: number;
  /** Mutual TLS between hubs (HUB_PEER_TLS_*), as PEM contents. */
  peerTls?: PeerTlsMaterial | undefined;
  log: Logger;
}

/**
 * One hub's membership of a cluster: its heartbeat and the agents' locations in Redis, the bus
 * that carries revocations, workspace events and kicks between hubs, the shared rate limits, and
 * the relay connections to the other hubs. The relay sees it as a RelayCluster.
 */
export interface ClusterNode extends RelayCluster {
  readonly self: HubRecord;
  /** In-process buses that also reach, and hear from, every other hub. */
  revocations(local: Revocations): Revocations;
  workspaceEvents(local: WorkspaceEvents): WorkspaceEvents;
  readonly rateLimiter: RateLimiter;
  /** Connects the node to the relay it serves (kicks, location refreshes, opens from peers). */
  attachRelay(relay: ClusterRelay): void;
  /** An upgrade to /cluster: another hub of the cluster dialing in. */
  handlePeerUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The agents among `agentIds` that are connected to a live hub of the cluster. */
  findOnlineAgents(agentIds: string[]): Promise<Set<string>>;
  /**
   * The dashboard's traffic of these services, each answered by the hub holding its agent. Where
   * that hub cannot be asked (Redis away, no answer in time), this hub's own counters stand in.
   */
  describeServiceTraffic(services: ServiceRef[], listed: number): Promise<ServiceTraffic[]>;
  /** A graceful stop began: other hubs open no new streams here, the open ones finish. */
  beginDrain(reason: string): void;
  /** False while Redis cannot be reached: /readyz says so. */
  isReady(): boolean;
  close(): Promise<void>;
}

/** How often this hub re-writes the locations of its agents (their records live 30 s). */
const LOCATION_REFRESH_MS = 10_000;
/** Attempts to route to an agent whose recorded hub turned out dead (its record outlived it). */
const ROUTE_ATTEMPTS = 3;

export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const { log } = options;
  const hubId = options.self.hubId;
  const redis: ClusterRedis = await connectClusterRedis({ url: options.redisUrl, prefix: options.keyPrefix, log });
  const self: HubRecord = { hubId, peerUrl: options.self.peerUrl, startedAt: Date.now(), pid: process.pid };
  const registry: HubRegistry = createHubRegistry(redis, self, options.secrets, log);
  try {
    await registry.start();
  } catch (error) {
    await redis.close();
    throw error;
  }
  const locations: AgentLocations = createAgentLocations(redis);
  const addresses: AddressConnections = createAddressConnections(redis, hubId, log);
  const bus: ClusterBus = await createClusterBus(redis, hubId, log);
  let relay: ClusterRelay | undefined;
  const peerHost = {
    openFromPeer(connection: HubConnection, streamId: number, request: PeerOpenRequest) {
      if (relay === undefined)
        connection.sendReset(streamId, ResetCode.UNAVAILABLE, "The hub is starting: try again in a moment");
      else relay.openFromPeer(connection, streamId, request);
    },
  };
  const common = { selfHubId: hubId, clusterSecret: options.secrets.clusterSecret, host: peerHost, log };
  const pool: PeerPool = createPeerPool({ ...common, connectionsPerPeer: options.connectionsPerPeer, tls: options.peerTls });
  const acceptor: PeerAcceptor = createPeerAcceptor({ ...common, tls: { required: options.peerTls !== undefined } });
  const noTraffic = (services: ServiceRef[]) => services.map(() => ({ bytesRelayed: 0, openStreams: 0, streams: [] }));
  const describeLocalTraffic = (services: ServiceRef[], listed: number) =>
    relay?.describeServiceTraffic(services, listed) ?? noTraffic(services);
  const remoteTraffic: RemoteTraffic = createRemoteTraffic(bus, describeLocalTraffic, log);

  /** Re-writes where this hub's agents are; closes those another hub has taken over meanwhile. */
  async function refreshLocations(): Promise<void> {
    if (relay === undefined) return;
    const agents = relay.listAgents();
    if (agents.length === 0) return;
    const byId = new Map(agents.map((agent) => [agent.identity.agentId, agent]));
    try {
      const lost = await locations.refresh(
        agents.map((agent) => ({
          agentId: agent.identity.agentId,
          epoch: agent.connectionId,
          hubId,
          ip: agent.ip,
          instance: agent.instance,
        })),
      );
      for (const agentId of lost) relay.closeReplacedConnection(agentId, byId.get(agentId)?.connectionId);
    } catch (error) {
      if (!(error instanceof RedisUnavailable)) log.warn({ err: String(error) }, "could not refresh agent locations");
    }
  }
  const refresher = setInterval(() => void refreshLocations(), LOCATION_REFRESH_MS);
  refresher.unref();
  // Redis came back (perhaps empty after a restart): say at once where our agents are.
  const stopOnReconnect = redis.onReconnect(() => void refreshLocations());
  const stopKicks = bus.onKick((kick) => {
    if (relay?.closeReplacedConnection(kick.agentId, kick.epoch)) {
      log.info({ agentId: kick.agentId }, "closed an agent connection another hub took over");
    }
  });

  function unavailable(error: unknown): OpenRefusal {
    if (error instanceof PeerUnreachable) return new OpenRefusal(ResetCode.UNAVAILABLE, error.message);
    if (error instanceof RedisUnavailable) return new OpenRefusal(ResetCode.UNAVAILABLE, REDIS_UNAVAILABLE_MESSAGE);
    log.error({ err: String(error) }, "could not route a stream to another hub");
    return new OpenRefusal(ResetCode.UNAVAILABLE, "The hub could not route the stream to another hub: try again in a moment");
  }

  return {
    hubId,
    self,
    rateLimiter: createSharedRateLimiter(redis),
    revocations: (local) => bus.revocations(local),
    workspaceEvents: (local) => bus.workspaceEvents(local),

    attachRelay(attached) {
      relay = attached;
    },

    async connectToHubOf(agentId) {
      try {
        for (let attempt = 0; attempt < ROUTE_ATTEMPTS; attempt++) {
          const location = await locations.locate(agentId);
          // A record naming this hub for an agent not connected here is left over from a
          // connection that just closed: the agent is offline (or reconnecting).
          if (location === undefined || location.hubId === hubId) return undefined;
          const hub = await registry.lookup(location.hubId);
          if (hub === undefined) {
            // The hub died before the record expired: forget it and look again, the agent may
            // already have reconnected elsewhere.
            await locations.release(agentId, location.epoch);
            continue;
          }
          return await pool.connectionTo(hub);
        }
        return undefined;
      } catch (error) {
        throw unavailable(error);
      }
    },

    async agentConnected(connection: AgentConnection): Promise<ReplacedConnection | undefined> {
      const { agentId } = connection.identity;
      const previous = await locations.claim({
        agentId,
        hubId,
        epoch: connection.connectionId,
        ip: connection.ip,
        instance: connection.instance,
      });
      // Replaced on this same hub: the registry has already closed and reported the older one.
      if (previous === undefined || previous.hubId === hubId || previous.epoch === connection.connectionId) return undefined;
      if ((await registry.lookup(previous.hubId)) === undefined) return undefined;
      await bus.sendKick(previous.hubId, { agentId, epoch: previous.epoch, reason: "replaced by a newer connection" });
      return { hubId: previous.hubId, ip: previous.ip, instance: previous.instance };
    },

    agentDisconnected(connection) {
      locations.release(connection.identity.agentId, connection.connectionId).catch((error: unknown) => {
        // Left to expire (30 s); routers meanwhile find the agent not here and answer offline.
        connection.log.debug({ err: String(error) }, "could not remove the agent's location");
      });
    },

    acquireAddress: (ip, limit) => addresses.acquire(ip, limit),
    releaseAddress: (ip) => addresses.release(ip),

    handlePeerUpgrade(request, socket, head) {
      acceptor.handleUpgrade(request, socket, head);
    },

    async findOnlineAgents(agentIds) {
      const online = new Set(agentIds.filter((agentId) => relay?.isAgentOnline(agentId)));
      const elsewhere = agentIds.filter((agentId) => !online.has(agentId));
      if (elsewhere.length === 0) return online;
      try {
        const [found, hubs] = await Promise.all([locations.locateMany(elsewhere), registry.liveHubs()]);
        const live = new Set(hubs.map((hub) => hub.hubId));
        for (const [agentId, location] of found) {
          if (location.hubId !== hubId && live.has(location.hubId)) online.add(agentId);
        }
      } catch (error) {
        // Without Redis only this hub's own agents are known to be online; said once per listing.
        log.warn({ err: String(error) }, "listed presence from this hub only: Redis is unavailable");
      }
      return online;
    },

    async describeServiceTraffic(services, listed) {
      const traffic = describeLocalTraffic(services, listed);
      const elsewhere = services.flatMap((service, index) => (relay?.isAgentOnline(service.agentId) ? [] : [{ service, index }]));
      if (elsewhere.length === 0) return traffic;
      try {
        const [found, hubs] = await Promise.all([
          locations.locateMany(elsewhere.map(({ service }) => service.agentId)),
          registry.liveHubs(),
        ]);
        const live = new Set(hubs.map((hub) => hub.hubId));
        // An agent that is offline, or recorded on a dead hub, has only this hub's counters.
        const askedByHub = new Map<string, typeof elsewhere>();
        for (const asked of elsewhere) {
          const holder = found.get(asked.service.agentId)?.hubId;
          if (holder === undefined || holder === hubId || !live.has(holder)) continue;
          askedByHub.set(holder, [...(askedByHub.get(holder) ?? []), asked]);
        }
        await Promise.all(
          [...askedByHub].map(async ([holder, asked]) => {
            try {
              const answers = await remoteTraffic.ask(
                holder,
                asked.map(({ service }) => service),
                listed,
              );
              asked.forEach(({ index }, position) => {
                const answer = answers[position];
                if (answer !== undefined) traffic[index] = answer;
              });
            } catch (error) {
              log.warn(
                { err: String(error), hubId: holder },
                "showed this hub's own traffic counters: the hub holding the agents did not answer",
              );
            }
          }),
        );
      } catch (error) {
        log.warn({ err: String(error) }, "showed this hub's own traffic counters: Redis is unavailable");
      }
      return traffic;
    },

    beginDrain(reason) {
      acceptor.goAway(reason);
    },

    isReady: () => redis.isReady(),

    async close() {
      clearInterval(refresher);
      stopOnReconnect();
      stopKicks();
      remoteTraffic.close();
      acceptor.close();
      pool.closeAll();
      addresses.close();
      await bus.close();
      await registry.stop();
      await redis.close();
    },
  };
}
