import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ServiceTraffic } from "@private-connect/api";
import {
  CloseCode,
  encodeControl,
  MAX_WS_MESSAGE_BYTES,
  type NoticeMessage,
  type OpenRequest,
  ResetCode,
} from "@private-connect/protocol";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { refuseUpgrade } from "../http/responses.js";
import { AgentConnection, type AgentIdentity, type ConnectionLimits } from "./agent-connection.js";
import { LocalStream } from "./local-stream.js";
import { type MetricsSnapshot, RelayMetrics } from "./relay-metrics.js";
import { RelayStream } from "./relay-stream.js";

/**
 * Decides who may open what. Implemented by the control plane (packages/api). The optional last
 * `log` of a call is the connection's (or the stream's) logger: lines about the call go through
 * it, so they carry the same connection and stream ids as the relay's own lines.
 */
export interface RelayAuthority {
  /**
   * Resolves the bearer of an upgrade request to an agent, or throws a user-facing error. `client`
   * says where the request came from, for the audit log's record of the token's use.
   */
  authenticateAgent(
    bearer: string,
    client?: { ip: string; userAgent?: string | undefined },
    log?: Logger,
  ): Promise<AgentIdentity>;
  /**
   * The one authorization check run at every stream open. Throws an OpenRefusal. `stream` names
   * the connection's logger and the stream id for lines about this open (no child logger per
   * open: opens are the relay's hot path).
   */
  authorizeOpen(
    agent: AgentIdentity,
    request: OpenRequest,
    ip: string,
    stream?: { log: Logger; streamId: number },
  ): Promise<StreamGrant>;
  /** Returns notices for the agent (for example: its token was used from a new address). */
  onAgentConnected?(agent: AgentIdentity, ip: string, log?: Logger): Promise<NoticeMessage[]>;
  /**
   * The agent's token expiry as stored now (a rotation may have extended it), or undefined
   * when the agent is gone or revoked. Asked when the connection's token reaches expiry.
   */
  readTokenExpiry?(agent: AgentIdentity): Promise<Date | undefined>;
  /** The message for an agent whose token expired while connected. */
  describeExpiry?(agent: AgentIdentity): Promise<string>;
  /**
   * Why the agent was revoked, if it was (else undefined). Asked now and then for every connected
   * agent, for revocations this process did not publish (made on the database by another one).
   */
  readRevocation?(agent: AgentIdentity): Promise<string | undefined>;
  onAgentDisconnected?(agent: AgentIdentity, ip: string, log?: Logger): void;
}

/** Where an authorized stream goes, and, for a stream through a share, what it depends on. */
export interface StreamGrant {
  agentId: string;
  serviceName: string;
  share?: { id: string; expiresAt: Date } | undefined;
}

/** How an authorization failure reaches the agent: as a stream reset with a code and text. */
export class OpenRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RelayOptions {
  limits?: Partial<ConnectionLimits>;
  heartbeatMs?: number;
  /** Connections one client address may hold, counted before authentication. */
  maxConnectionsPerIp?: number;
  /** How long a stopping hub lets open streams finish. */
  drainTimeoutMs?: number;
  /**
   * How often connected agents are checked for a revocation made outside this process (another
   * hub process, `connect-hub agent revoke` on DATABASE_URL). Default one minute.
   */
  revocationSweepMs?: number;
}

/** How long the relay itself remembers a revocation; the database refuses the token for good. */
const RECENT_REVOCATION_MS = 60_000;

const defaultLimits: ConnectionLimits = { maxStreams: 16_384, maxPendingOpens: 1_024, helloTimeoutMs: 10_000 };

/**
 * The relay: accepts agents' WebSockets at /relay, keeps the registry of who is online,
 * and joins a reaching agent's stream to the exposing agent's once authorized.
 */
export class RelayServer {
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_WS_MESSAGE_BYTES,
  });
  /** Every open connection, including those still in their hello exchange. */
  private readonly connections = new Set<AgentConnection>();
  /** Connections past hello, by agent id: who can be routed to. */
  private readonly online = new Map<string, AgentConnection>();
  private readonly streams = new Set<RelayStream>();
  private readonly limits: ConnectionLimits;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly revocationSweep: NodeJS.Timeout;
  private isSweepingRevocations = false;
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly maxConnectionsPerIp: number;
  private readonly drainTimeoutMs: number;
  readonly metrics = new RelayMetrics();
  /** Bytes of closed streams by exposing agent and service, for the dashboard's per-service totals. */
  private readonly closedBytesByService = new Map<string, number>();
  /**
   * Agents revoked in the last minute, by id: an upgrade or a stream open whose authorization was
   * already in flight when the revocation arrived must not slip through on a stale answer. After
   * that the database's own refusal (revoked_at) covers everything new.
   */
  private readonly recentlyRevoked = new Map<string, { at: number; reason: string }>();
  /** Set while shutting down: called when the last stream closes. */
  private onDrained: (() => void) | undefined;
  private isShuttingDown = false;

  constructor(
    private readonly authority: RelayAuthority,
    private readonly log: Logger,
    options: RelayOptions = {},
  ) {
    this.limits = { ...defaultLimits, ...options.limits };
    this.maxConnectionsPerIp = options.maxConnectionsPerIp ?? 1_000;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
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
    return this.online.has(agentId);
  }

  /**
   * A service's open streams (who reaches it, through which share) and the bytes relayed for it
   * since the hub started. Walks the open streams: asked per page view, not per frame.
   */
  describeServiceTraffic(agentId: string, serviceName: string): ServiceTraffic {
    let bytesRelayed = this.closedBytesByService.get(serviceKey(agentId, serviceName)) ?? 0;
    const streams: ServiceTraffic["streams"] = [];
    for (const stream of this.streams) {
      const server = stream.server?.peer;
      if (!(server instanceof AgentConnection) || server.identity.agentId !== agentId || stream.service !== serviceName) continue;
      const bytes = stream.bytesFromClient + stream.bytesFromServer;
      bytesRelayed += bytes;
      const client = stream.client.peer;
      streams.push({
        clientAgentId: client instanceof AgentConnection ? client.identity.agentId : undefined,
        shareId: stream.share?.id,
        bytes,
      });
    }
    return { bytesRelayed, streams };
  }

  private countClosedServiceBytes(closed: RelayStream): void {
    const server = closed.server?.peer;
    if (!(server instanceof AgentConnection)) return;
    const key = serviceKey(server.identity.agentId, closed.service);
    this.closedBytesByService.set(
      key,
      (this.closedBytesByService.get(key) ?? 0) + closed.bytesFromClient + closed.bytesFromServer,
    );
  }

  snapshot(): MetricsSnapshot {
    let bytesRelayed = this.metrics.closedStreamBytes;
    for (const stream of this.streams) bytesRelayed += stream.bytesFromClient + stream.bytesFromServer;
    return {
      agentsOnline: this.online.size,
      connections: this.connections.size,
      streamsOpen: this.streams.size,
      bytesRelayed,
      metrics: this.metrics,
    };
  }

  /** Takes over an HTTP upgrade to /relay: authenticate first, then speak WebSocket. */
  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, ip: string): Promise<void> {
    socket.on("error", () => socket.destroy());
    // One id per relay connection, from its first byte: every line about it carries the id.
    const connectionLog = this.log.child({ connId: randomUUID() });
    if (this.isShuttingDown) {
      this.metrics.connectionsRefused++;
      refuseUpgrade(socket, 503, "The hub is shutting down: the agent will reconnect shortly");
      return;
    }
    const held = this.connectionsPerIp.get(ip) ?? 0;
    if (held >= this.maxConnectionsPerIp) {
      this.metrics.connectionsRefused++;
      refuseUpgrade(socket, 429, `Too many relay connections from ${ip} (limit ${this.maxConnectionsPerIp})`);
      return;
    }
    // Counted from before authentication, so a flood of bad tokens is bounded too.
    this.connectionsPerIp.set(ip, held + 1);
    let isCounted = true;
    const release = () => {
      if (!isCounted) return;
      isCounted = false;
      const left = (this.connectionsPerIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.connectionsPerIp.delete(ip);
      else this.connectionsPerIp.set(ip, left);
    };
    socket.once("close", release);
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
    const revocation = this.recentlyRevoked.get(identity.agentId);
    if (revocation !== undefined) {
      this.metrics.authFailures++;
      refuseUpgrade(socket, 401, revocation.reason);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const log = connectionLog.child({ agentId: identity.agentId, workspaceId: identity.workspaceId });
      this.connections.add(new AgentConnection(ws, identity, ip, this, this.limits, log));
    });
  }

  onReady(connection: AgentConnection): void {
    const previous = this.online.get(connection.identity.agentId);
    // One hub connection per agent identity: a newer one replaces the older.
    if (previous && previous !== connection) previous.close(CloseCode.REPLACED, "replaced by a newer connection");
    this.online.set(connection.identity.agentId, connection);
    connection.log.info({ label: connection.label, clientType: connection.identity.clientType }, "agent connected");
    this.authority.onAgentConnected?.(connection.identity, connection.ip, connection.log).then(
      (notices) => {
        for (const notice of notices) connection.sendFrame(encodeControl(notice));
      },
      (error: unknown) => connection.log.warn({ err: String(error) }, "could not record the agent's connection"),
    );
    connection.scheduleExpiry(connection.identity.tokenExpiresAt);
  }

  onClosed(connection: AgentConnection): void {
    this.connections.delete(connection);
    this.markOffline(connection);
  }

  /** Once per connection: the first of a revocation or the socket's close takes it offline. */
  private markOffline(connection: AgentConnection): void {
    if (this.online.get(connection.identity.agentId) !== connection) return;
    this.online.delete(connection.identity.agentId);
    connection.log.info("agent disconnected");
    this.authority.onAgentDisconnected?.(connection.identity, connection.ip, connection.log);
  }

  openStream(client: AgentConnection, streamId: number, request: OpenRequest): void {
    this.metrics.streamOpens++;
    if (this.isShuttingDown) {
      this.metrics.countRefusedOpen(ResetCode.UNAVAILABLE);
      client.sendReset(streamId, ResetCode.UNAVAILABLE, "The hub is shutting down: try again in a moment");
      return;
    }
    const openedAt = Date.now();
    const stream = new RelayStream({ peer: client, id: streamId }, request.service, (closed) => {
      // Counts and timing only: the relay never looks at, keeps or logs the bytes themselves.
      client.log.debug(
        {
          streamId,
          bytesFromClient: closed.bytesFromClient,
          bytesFromServer: closed.bytesFromServer,
          durationMs: Date.now() - openedAt,
        },
        "stream closed",
      );
      this.streams.delete(closed);
      this.metrics.closedStreamBytes += closed.bytesFromClient + closed.bytesFromServer;
      this.countClosedServiceBytes(closed);
      if (this.streams.size === 0) this.onDrained?.();
    });
    this.streams.add(stream);
    // Attach now so the client's early bytes queue on the stream while we authorize.
    client.attach(streamId, stream, "client");
    void this.routeStream(client, streamId, request, stream);
  }

  private async routeStream(client: AgentConnection, streamId: number, request: OpenRequest, stream: RelayStream): Promise<void> {
    let route: StreamGrant;
    try {
      route = await this.authority.authorizeOpen(client.identity, request, client.ip, { log: client.log, streamId });
    } catch (error) {
      const refusal =
        error instanceof OpenRefusal ? error : new OpenRefusal(ResetCode.INTERNAL, "The hub could not open the stream");
      if (!(error instanceof OpenRefusal)) client.log.error({ err: String(error), streamId }, "stream authorization failed");
      else client.log.debug({ streamId, service: request.service, code: refusal.code }, "stream refused");
      this.metrics.countRefusedOpen(refusal.code);
      if (client.settleOpen(streamId)) stream.reset(refusal.code, refusal.message);
      return;
    }
    if (!client.settleOpen(streamId) || !stream.isOpen) return;
    if (this.recentlyRevoked.has(route.agentId)) {
      this.metrics.countRefusedOpen(ResetCode.REVOKED);
      stream.reset(ResetCode.REVOKED, `Service ${route.serviceName} is offline: its agent was revoked`);
      return;
    }
    const server = this.online.get(route.agentId);
    if (!server) {
      this.metrics.countRefusedOpen(ResetCode.SERVICE_OFFLINE);
      stream.reset(ResetCode.SERVICE_OFFLINE, `Service ${route.serviceName} is offline: its agent is not connected to the hub`);
      return;
    }
    if (!server.hasCapacity()) {
      this.metrics.countRefusedOpen(ResetCode.LIMIT_EXCEEDED);
      stream.reset(ResetCode.LIMIT_EXCEEDED, `Service ${route.serviceName} is at its stream limit: try again later`);
      return;
    }
    stream.share = route.share;
    const serverStreamId = server.allocateStreamId();
    server.attach(serverStreamId, stream, "server");
    stream.openOn({ peer: server, id: serverStreamId }, route.serviceName);
    client.log.debug(
      { streamId, service: route.serviceName, toAgentId: route.agentId, toStreamId: serverStreamId, shareId: route.share?.id },
      "stream opened",
    );
  }

  /**
   * A stream the hub itself opens to a service (a public link's request, already authorized by
   * the link): the returned LocalStream is the client end of an ordinary RelayStream, so it keeps
   * the same credit books and counts in the same drain and metrics as agents' streams. Throws an
   * OpenRefusal when the hub is stopping, or the service's agent is offline or at its limit.
   */
  openLocalStream(route: { agentId: string; serviceName: string }, label: string): LocalStream {
    this.metrics.streamOpens++;
    const refuse = (code: number, message: string): never => {
      this.metrics.countRefusedOpen(code);
      throw new OpenRefusal(code, message);
    };
    if (this.isShuttingDown) refuse(ResetCode.UNAVAILABLE, "The hub is shutting down: try again in a moment");
    if (this.recentlyRevoked.has(route.agentId)) {
      refuse(ResetCode.REVOKED, `Service ${route.serviceName} is offline: its agent was revoked`);
    }
    const server = this.online.get(route.agentId);
    if (!server)
      return refuse(ResetCode.SERVICE_OFFLINE, `Service ${route.serviceName} is offline: its agent is not connected to the hub`);
    if (!server.hasCapacity())
      refuse(ResetCode.LIMIT_EXCEEDED, `Service ${route.serviceName} is at its stream limit: try again later`);
    const local = new LocalStream(label);
    const stream = new RelayStream({ peer: local, id: local.id }, route.serviceName, (closed) => {
      this.streams.delete(closed);
      this.metrics.closedStreamBytes += closed.bytesFromClient + closed.bytesFromServer;
      this.countClosedServiceBytes(closed);
      if (this.streams.size === 0) this.onDrained?.();
    });
    this.streams.add(stream);
    local.attach(stream);
    const serverStreamId = server.allocateStreamId();
    server.attach(serverStreamId, stream, "server");
    stream.openOn({ peer: server, id: serverStreamId }, route.serviceName);
    return local;
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
    for (const connection of this.online.values()) connection.sendFrame(encodeControl({ type: "goaway", reason }));
    if (this.streams.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.drainTimeoutMs);
        this.onDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (this.streams.size > 0) this.log.info({ streams: this.streams.size }, "drain timeout: resetting the remaining streams");
    for (const connection of this.connections) connection.close(CloseCode.HUB_SHUTDOWN, reason);
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /**
   * A share was revoked: every stream through it ends now, at both ends. New opens are refused
   * by the authorization check, which reads the committed revocation.
   */
  resetShareStreams(shareId: string, reason = "The share was revoked by its owner"): number {
    let count = 0;
    for (const stream of [...this.streams]) {
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
    this.recentlyRevoked.set(agentId, { at: Date.now(), reason });
    let count = 0;
    for (const connection of [...this.connections]) {
      if (connection.identity.agentId !== agentId) continue;
      connection.closeRevoked(reason);
      // Offline now, not when the close handshake ends: its services show offline at once.
      this.markOffline(connection);
      count++;
    }
    // Opens the revoked agent made that are still being authorized: the connection's close drops
    // them, but a link's or another agent's open to its services is caught in routeStream.
    this.log.info({ agentId, connections: count }, "closed the connections of a revoked agent");
    return count;
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
      for (const connection of [...this.online.values()]) {
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

  private forgetOldRevocations(now: number): void {
    for (const [agentId, revocation] of this.recentlyRevoked) {
      if (now - revocation.at > RECENT_REVOCATION_MS) this.recentlyRevoked.delete(agentId);
    }
  }

  /** Streams outlive nothing that granted them: a share's expiry ends its open streams too. */
  private resetExpiredShareStreams(now: number): void {
    for (const stream of [...this.streams]) {
      if (stream.share !== undefined && stream.share.expiresAt.getTime() <= now) {
        stream.reset(ResetCode.REVOKED, "The share expired");
      }
    }
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

  private checkHeartbeats(): void {
    this.resetExpiredShareStreams(Date.now());
    this.forgetOldRevocations(Date.now());
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

function serviceKey(agentId: string, serviceName: string): string {
  return `${agentId}/${serviceName}`;
}

function readBearer(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
