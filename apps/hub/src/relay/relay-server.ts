import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ServiceRef, ServiceTraffic } from "@private-connect/api";
import {
  CloseCode,
  encodeControl,
  MAX_WS_MESSAGE_BYTES,
  type OpenRequest,
  type PeerOpenRequest,
  ResetCode,
} from "@private-connect/protocol";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { refuseUpgrade } from "../http/responses.js";
import { AgentConnection, type AgentIdentity, type ConnectionHost, type ConnectionLimits } from "./agent-connection.js";
import { AgentRegistry } from "./agent-registry.js";
import { ConnectionAdmission } from "./connection-admission.js";
import type { LocalStream } from "./local-stream.js";
import { OpenStreams } from "./open-streams.js";
import { OpenRefusal, type RelayAuthority } from "./relay-authority.js";
import type { HubConnection, RelayCluster } from "./relay-cluster.js";
import { type MetricsSnapshot, RelayMetrics } from "./relay-metrics.js";
import { RevocationMemory } from "./revocation-memory.js";
import { StreamOpens } from "./stream-open.js";

export interface RelayOptions {
  limits?: Partial<ConnectionLimits>;
  heartbeatMs?: number;
  /** Connections one client address may hold (on all hubs of a cluster), counted before authentication. */
  maxConnectionsPerIp?: number;
  /** How long a stopping hub lets open streams finish. */
  drainTimeoutMs?: number;
  /**
   * How often connected agents are checked for a revocation made outside this process and not
   * heard of (`connect-hub agent revoke` on DATABASE_URL, a revocation during a Redis outage).
   * Default one minute.
   */
  revocationSweepMs?: number;
  /** The other hubs, when this hub is one of a cluster (cluster/cluster-node.ts). */
  cluster?: RelayCluster;
}

const defaultLimits: ConnectionLimits = { maxStreams: 16_384, maxPendingOpens: 1_024, helloTimeoutMs: 10_000 };

/**
 * The relay: accepts agents' WebSockets at /relay and keeps them alive, hands their stream opens
 * (and public links', and peer hubs') to StreamOpens, and cuts what a revocation, an expiry or a
 * shutdown ends. Who is online is the AgentRegistry's; open streams are OpenStreams'.
 */
export class RelayServer implements ConnectionHost {
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_WS_MESSAGE_BYTES,
  });
  /** Every open connection, including those still in their hello exchange. */
  private readonly connections = new Set<AgentConnection>();
  private readonly agents: AgentRegistry;
  private readonly streams: OpenStreams;
  private readonly opens: StreamOpens;
  private readonly admission: ConnectionAdmission;
  private readonly revoked = new RevocationMemory();
  private readonly limits: ConnectionLimits;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly revocationSweep: NodeJS.Timeout;
  private isSweepingRevocations = false;
  private readonly drainTimeoutMs: number;
  readonly metrics = new RelayMetrics();
  private isShuttingDown = false;

  constructor(
    private readonly authority: RelayAuthority,
    private readonly log: Logger,
    options: RelayOptions = {},
  ) {
    this.limits = { ...defaultLimits, ...options.limits };
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.agents = new AgentRegistry(authority, options.cluster);
    this.streams = new OpenStreams(this.metrics);
    this.admission = new ConnectionAdmission(options.maxConnectionsPerIp ?? 1_000, options.cluster);
    this.opens = new StreamOpens({
      authority,
      agents: this.agents,
      streams: this.streams,
      revoked: this.revoked,
      metrics: this.metrics,
      cluster: options.cluster,
      isShuttingDown: () => this.isShuttingDown,
    });
    this.heartbeat = setInterval(() => this.checkHeartbeats(), options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
    this.revocationSweep = setInterval(() => void this.sweepRevocations(), options.revocationSweepMs ?? 60_000);
    this.revocationSweep.unref();
  }

  /** False from the moment a shutdown begins: load balancers should send nobody new here. */
  get isAccepting(): boolean {
    return !this.isShuttingDown;
  }

  isAgentOnline(agentId: string): boolean {
    return this.agents.find(agentId) !== undefined;
  }

  /** The agents connected to this hub (for presence across the cluster and its refresh). */
  listAgents(): AgentConnection[] {
    return this.agents.list();
  }

  describeServiceTraffic(services: ServiceRef[], listed: number): ServiceTraffic[] {
    return this.streams.describeServiceTraffic(services, listed);
  }

  snapshot(): MetricsSnapshot {
    return {
      agentsOnline: this.agents.size,
      connections: this.connections.size,
      streamsOpen: this.streams.size,
      bytesRelayed: this.streams.bytesRelayed(),
      metrics: this.metrics,
    };
  }

  /** Takes over an HTTP upgrade to /relay: admit the address, authenticate, then speak WebSocket. */
  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, ip: string): Promise<void> {
    socket.on("error", () => socket.destroy());
    // One id per relay connection, from its first byte: every line about it carries the id. It is
    // also the connection's epoch in the cluster's record of where the agent is.
    const connectionId = randomUUID();
    const connectionLog = this.log.child({ connId: connectionId });
    if (this.isShuttingDown) {
      this.metrics.connectionsRefused++;
      refuseUpgrade(socket, 503, "The hub is shutting down: the agent will reconnect shortly");
      return;
    }
    const admission = await this.admission.admit(ip);
    if (admission.kind === "refused") {
      this.metrics.connectionsRefused++;
      refuseUpgrade(socket, admission.status, admission.message);
      return;
    }
    socket.once("close", admission.release);
    if (socket.destroyed) admission.release();
    const bearer = readBearer(request);
    if (!bearer) {
      refuseUpgrade(socket, 401, "Missing agent token: run connect up");
      return;
    }
    let identity: AgentIdentity;
    try {
      identity = await this.authority.authenticateAgent(bearer, { ip, userAgent: request.headers["user-agent"] }, connectionLog);
    } catch (error) {
      const message = error instanceof Error ? error.message : "Invalid credentials";
      const isUnavailable = error instanceof OpenRefusal && error.code === ResetCode.UNAVAILABLE;
      if (!isUnavailable) this.metrics.authFailures++;
      connectionLog.info({ ip, reason: message }, "relay connection refused");
      refuseUpgrade(socket, isUnavailable ? 503 : 401, message);
      return;
    }
    const revocation = this.revoked.reasonFor(identity.agentId);
    if (revocation !== undefined) {
      this.metrics.authFailures++;
      refuseUpgrade(socket, 401, revocation);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const log = connectionLog.child({ agentId: identity.agentId, workspaceId: identity.workspaceId });
      this.connections.add(new AgentConnection(ws, identity, ip, this, this.limits, log, connectionId));
    });
  }

  // --- ConnectionHost: what an agent connection asks of the hub ---------------------------------

  onReady(connection: AgentConnection): void {
    this.agents.add(connection);
    connection.scheduleExpiry(connection.identity.tokenExpiresAt);
  }

  onClosed(connection: AgentConnection): void {
    this.connections.delete(connection);
    this.agents.remove(connection);
  }

  openStream(client: AgentConnection, streamId: number, request: OpenRequest): void {
    this.opens.fromAgent(client, streamId, request);
  }

  /** A stream the hub itself opens for a public link (see StreamOpens.fromLink). */
  openLocalStream(grant: { agentId: string; serviceName: string; workspaceId: string }, label: string): Promise<LocalStream> {
    return this.opens.fromLink(grant, label);
  }

  /** A peer hub's open, for an agent connected here (see StreamOpens.fromPeer). */
  openFromPeer(connection: HubConnection, streamId: number, request: PeerOpenRequest): void {
    this.opens.fromPeer(connection, streamId, request);
  }

  /** The connection's token reached its expiry: keep it only if the stored token was extended. */
  async recheckCredentials(connection: AgentConnection): Promise<void> {
    let expiresAt: Date | undefined;
    try {
      expiresAt = this.authority.readTokenExpiry ? await this.authority.readTokenExpiry(connection.identity) : undefined;
    } catch (error) {
      // Without the database we cannot tell; keep serving and ask again shortly.
      connection.log.warn({ err: String(error) }, "could not re-check the agent token");
      connection.scheduleExpiry(new Date(Date.now() + 30_000));
      return;
    }
    if (expiresAt && expiresAt.getTime() > Date.now()) {
      connection.identity.tokenExpiresAt = expiresAt;
      connection.scheduleExpiry(expiresAt);
      return;
    }
    const message = await this.authority.describeExpiry?.(connection.identity).catch(() => undefined);
    connection.closeExpired(message ?? "Agent token expired: register this agent again with connect up");
  }

  // --- What ends streams and connections ---------------------------------------------------------

  /**
   * A share was revoked: every stream through it ends now, at both ends. New opens are refused
   * by the authorization check, which reads the committed revocation.
   */
  resetShareStreams(shareId: string, reason = "The share was revoked by its owner"): number {
    let count = 0;
    for (const stream of this.streams.list()) {
      if (stream.share?.id !== shareId) continue;
      stream.reset(ResetCode.REVOKED, reason);
      count++;
    }
    if (count > 0) this.log.info({ shareId, streams: count }, "reset the streams of a revoked share");
    return count;
  }

  /**
   * An agent was revoked: its connections (also one still in its hello) get the reason and close
   * with AGENT_REVOKED, every stream through them is reset now, and for a minute any open or
   * upgrade that was already being authorized for it is refused here too. Returns the number of
   * connections closed.
   */
  closeRevokedAgent(agentId: string, reason: string): number {
    this.revoked.remember(agentId, reason);
    let count = 0;
    for (const connection of [...this.connections]) {
      if (connection.identity.agentId !== agentId) continue;
      connection.closeRevoked(reason);
      // Offline now, not when the close handshake ends: its services show offline at once.
      this.agents.remove(connection);
      count++;
    }
    this.log.info({ agentId, connections: count }, "closed the connections of a revoked agent");
    return count;
  }

  /**
   * Another hub took this agent over (a newer connection there): close ours as replaced, if it is
   * still the connection `epoch` names (a kick for an older one is stale).
   */
  closeReplacedConnection(agentId: string, epoch: string | undefined): boolean {
    const connection = this.agents.find(agentId);
    if (connection === undefined || (epoch !== undefined && connection.connectionId !== epoch)) return false;
    connection.close(CloseCode.REPLACED, "replaced by a newer connection");
    this.agents.remove(connection);
    return true;
  }

  /**
   * Asks, one connected agent at a time, whether it was revoked elsewhere; closes those that were.
   * One run at a time: a slow database delays the next sweep instead of piling queries up.
   */
  async sweepRevocations(): Promise<number> {
    const readRevocation = this.authority.readRevocation;
    if (readRevocation === undefined || this.isSweepingRevocations) return 0;
    this.isSweepingRevocations = true;
    let closed = 0;
    try {
      for (const connection of this.agents.list()) {
        let reason: string | undefined;
        try {
          reason = await readRevocation.call(this.authority, connection.identity);
        } catch (error) {
          // The database is away: the next sweep asks again; the connection is not judged on no answer.
          connection.log.warn({ err: String(error) }, "could not check whether the agent was revoked");
          return closed;
        }
        if (reason !== undefined) closed += this.closeRevokedAgent(connection.identity.agentId, reason);
      }
      return closed;
    } finally {
      this.isSweepingRevocations = false;
    }
  }

  /**
   * Graceful stop: refuse new connections and stream opens, tell agents to reconnect (they
   * keep their streams until we close), let open streams finish for up to the drain
   * timeout, then close every connection.
   */
  async shutdown(reason = "hub shutting down"): Promise<void> {
    if (this.isShuttingDown) return;
    this.isShuttingDown = true;
    clearInterval(this.heartbeat);
    clearInterval(this.revocationSweep);
    for (const connection of this.agents.list()) connection.sendFrame(encodeControl({ type: "goaway", reason }));
    await this.streams.drain(this.drainTimeoutMs);
    if (this.streams.size > 0) this.log.info({ streams: this.streams.size }, "drain timeout: resetting the remaining streams");
    for (const connection of this.connections) connection.close(CloseCode.HUB_SHUTDOWN, reason);
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Streams outlive nothing that granted them: a share's expiry ends its open streams too. */
  private resetExpiredShareStreams(now: number): void {
    for (const stream of this.streams.list()) {
      if (stream.share !== undefined && stream.share.expiresAt.getTime() <= now) {
        stream.reset(ResetCode.REVOKED, "The share expired");
      }
    }
  }

  private checkHeartbeats(): void {
    this.resetExpiredShareStreams(Date.now());
    this.revoked.forgetOld();
    for (const connection of this.connections) {
      if (!connection.isAlive) {
        connection.log.warn("agent stopped answering heartbeats");
        connection.ws.terminate();
        continue;
      }
      connection.isAlive = false;
      connection.ws.ping();
    }
  }
}

function readBearer(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
