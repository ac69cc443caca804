import type { AgentConnection } from "./agent-connection.js";
import type { RelayStream, StreamPeer } from "./relay-stream.js";

/** A relay connection to another hub of the cluster, as streams are routed onto it. */
export interface HubConnection extends StreamPeer {
  readonly remoteHubId: string;
  /** A fresh stream id on this connection (only the dialing hub opens streams on it). */
  allocateStreamId(): number;
  attach(streamId: number, stream: RelayStream, side: "client" | "server"): void;
  hasCapacity(): boolean;
}

/** An agent's live connection on another hub that a newer connection here replaced. */
export interface ReplacedConnection {
  hubId: string;
  ip: string;
  instance?: string | undefined;
}

/**
 * Whether a connection that replaced a live one looks like a second machine with the same token,
 * rather than the same agent reconnecting before the hub noticed its old connection die (a
 * network change, a load balancer that dropped it): agents say which process they are in hello.
 * For agents too old to say, another address is the best sign there is.
 */
export function isPossiblyCloned(
  previous: { ip: string; instance?: string | undefined },
  current: { ip: string; instance?: string | undefined },
): boolean {
  if (previous.instance !== undefined && current.instance !== undefined) return previous.instance !== current.instance;
  return previous.ip !== current.ip;
}

/**
 * What the relay asks of the cluster (apps/hub/src/cluster/cluster-node.ts). Absent for a hub
 * that runs alone: then every route is local and every count is this process's own.
 */
export interface RelayCluster {
  readonly hubId: string;
  /**
   * A connection to the live hub that holds `agentId`, or undefined when no live hub holds it.
   * Rejects with an OpenRefusal (UNAVAILABLE) when Redis or that hub cannot be reached.
   */
  connectToHubOf(agentId: string): Promise<HubConnection | undefined>;
  /**
   * The agent's connection is ready here: records where it is, and tells the hub of an older
   * live connection to close it. Resolves to that older connection, if there was one.
   */
  agentConnected(connection: AgentConnection): Promise<ReplacedConnection | undefined>;
  agentDisconnected(connection: AgentConnection): void;
  /** Counts a relay connection of `ip` if all hubs together hold fewer than `limit`. */
  acquireAddress(ip: string, limit: number): Promise<boolean>;
  releaseAddress(ip: string): void;
}
