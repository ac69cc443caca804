import { encodeOpen, encodePeerOpen, type OpenRequest, type PeerOpenRequest, ResetCode } from "@private-connect/protocol";
import type { Logger } from "pino";
import type { AgentConnection } from "./agent-connection.js";
import type { AgentRegistry } from "./agent-registry.js";
import { LocalStream } from "./local-stream.js";
import type { OpenStreams } from "./open-streams.js";
import { OpenRefusal, type RelayAuthority, type StreamGrant } from "./relay-authority.js";
import type { HubConnection, RelayCluster } from "./relay-cluster.js";
import type { RelayMetrics } from "./relay-metrics.js";
import type { RelayStream } from "./relay-stream.js";
import type { RevocationMemory } from "./revocation-memory.js";

/**
 * Where an open goes. Every stream this hub relays starts here, whoever asked for it:
 *
 *   pending ──authorize──▶ authorized ──route──▶ routed ──▶ open
 *      │                       │                  │  to an agent connected here, or
 *      │                       │                  │  to the peer hub that holds it (one hop)
 *      └───────────────────────┴──────────────────┴──▶ refused: RST with a code and a reason
 *
 * - pending: the stream exists with its client end attached, so the client's early bytes (and
 *   its FIN or WINDOW) queue on it, within the credit the client was given.
 * - authorized: by who opened it. An agent's OPEN is checked by the control plane (the one
 *   authorization function); a public link's request by the link's own admission; a peer hub's
 *   OPEN was authorized by the reaching side's hub, which proved itself with the cluster secret.
 * - routed: to the exposing agent if it is connected here; otherwise, for opens that began on
 *   this hub, to the live hub that Redis says holds it. An open from a peer is never sent on.
 * - open: the OPEN goes to the serving end and the queued bytes follow it.
 */
export interface StreamOpenDeps {
  authority: RelayAuthority;
  agents: AgentRegistry;
  streams: OpenStreams;
  revoked: RevocationMemory;
  metrics: RelayMetrics;
  cluster: RelayCluster | undefined;
  isShuttingDown(): boolean;
}

/** Who asked for the stream: what it is told on a refusal, and what the next hub is told of it. */
type Opener =
  | { kind: "agent"; connection: AgentConnection; streamId: number; request: OpenRequest }
  | { kind: "link"; label: string }
  | { kind: "peer"; connection: HubConnection; streamId: number; request: PeerOpenRequest };

const SHUTTING_DOWN = "The hub is shutting down: try again in a moment";

export class StreamOpens {
  constructor(private readonly deps: StreamOpenDeps) {}

  /** An agent's OPEN on its relay connection. */
  fromAgent(client: AgentConnection, streamId: number, request: OpenRequest): void {
    this.deps.metrics.streamOpens++;
    if (this.deps.isShuttingDown()) {
      this.deps.metrics.countRefusedOpen(ResetCode.UNAVAILABLE);
      client.sendReset(streamId, ResetCode.UNAVAILABLE, SHUTTING_DOWN);
      return;
    }
    const stream = this.pending(client.log, { peer: client, id: streamId }, request.service);
    stream.clientAgentId = client.identity.agentId;
    client.attach(streamId, stream, "client");
    void this.authorizeAgentOpen(client, streamId, request, stream);
  }

  /**
   * A stream the hub itself opens to a service, for a public link's request the link already
   * admitted: the LocalStream is the client end of an ordinary RelayStream, with the same credit
   * books, drain and metrics as agents' streams. Rejects with an OpenRefusal.
   */
  async fromLink(grant: Omit<StreamGrant, "share">, label: string): Promise<LocalStream> {
    this.deps.metrics.streamOpens++;
    if (this.deps.isShuttingDown()) {
      this.deps.metrics.countRefusedOpen(ResetCode.UNAVAILABLE);
      throw new OpenRefusal(ResetCode.UNAVAILABLE, SHUTTING_DOWN);
    }
    const local = new LocalStream(label);
    // A refused open resets the LocalStream before anyone listens to it; the refusal is the answer.
    local.on("error", () => {});
    const stream = this.deps.streams.create({ peer: local, id: local.id }, grant.serviceName);
    local.attach(stream);
    const refusal = await this.route(stream, grant, { kind: "link", label });
    if (refusal !== undefined) {
      this.refuse(stream, refusal);
      throw refusal;
    }
    return local;
  }

  /** A peer hub's OPEN on a cluster connection: for an agent it believes is connected here. */
  fromPeer(connection: HubConnection, streamId: number, request: PeerOpenRequest): void {
    this.deps.metrics.streamOpens++;
    if (this.deps.isShuttingDown()) {
      this.deps.metrics.countRefusedOpen(ResetCode.UNAVAILABLE);
      connection.sendReset(streamId, ResetCode.UNAVAILABLE, SHUTTING_DOWN);
      return;
    }
    // The reaching agent's limit, as its hub told us: both hubs keep the same books.
    const stream = this.deps.streams.create({ peer: connection, id: streamId }, request.service, {
      clientMaxWindow: request.maxWindow,
    });
    stream.clientAgentId = request.client.kind === "agent" ? request.client.agentId : undefined;
    connection.attach(streamId, stream, "client");
    const grant: StreamGrant = {
      agentId: request.agentId,
      serviceName: request.service,
      workspaceId: request.workspaceId,
      share: request.share && { id: request.share.id, expiresAt: new Date(request.share.expiresAt) },
    };
    // Routing to an agent here needs no await: the OPEN goes out before the peer's next frame.
    void this.route(stream, grant, { kind: "peer", connection, streamId, request }).then((refusal) => {
      if (refusal !== undefined) this.refuse(stream, refusal);
    });
  }

  // --- pending -> authorized ------------------------------------------------------------------

  private pending(log: Logger, client: { peer: AgentConnection; id: number }, service: string): RelayStream {
    const openedAt = Date.now();
    return this.deps.streams.create(client, service, {
      onClosed: (closed) => {
        // Counts and timing only: the relay never looks at, keeps or logs the bytes themselves.
        log.debug(
          {
            streamId: client.id,
            bytesFromClient: closed.bytesFromClient,
            bytesFromServer: closed.bytesFromServer,
            durationMs: Date.now() - openedAt,
          },
          "stream closed",
        );
      },
    });
  }

  private async authorizeAgentOpen(
    client: AgentConnection,
    streamId: number,
    request: OpenRequest,
    stream: RelayStream,
  ): Promise<void> {
    let grant: StreamGrant;
    try {
      grant = await this.deps.authority.authorizeOpen(client.identity, request, client.ip, { log: client.log, streamId });
    } catch (error) {
      const refusal =
        error instanceof OpenRefusal ? error : new OpenRefusal(ResetCode.INTERNAL, "The hub could not open the stream");
      if (!(error instanceof OpenRefusal)) client.log.error({ err: String(error), streamId }, "stream authorization failed");
      else client.log.debug({ streamId, service: request.service, code: refusal.code }, "stream refused");
      if (client.settleOpen(streamId)) this.refuse(stream, refusal);
      else this.deps.metrics.countRefusedOpen(refusal.code);
      return;
    }
    // The agent went away, or the stream was reset, while the control plane answered.
    if (!client.settleOpen(streamId) || !stream.isOpen) return;
    const refusal = await this.route(stream, grant, { kind: "agent", connection: client, streamId, request });
    if (refusal !== undefined) {
      this.refuse(stream, refusal);
      return;
    }
    client.log.debug(
      {
        streamId,
        service: grant.serviceName,
        toAgentId: grant.agentId,
        shareId: grant.share?.id,
        via: stream.server?.peer.label,
      },
      "stream opened",
    );
  }

  // --- authorized -> routed -> open ---------------------------------------------------------------

  /** Opens the stream on its serving end, or says why not (the stream is left to the caller). */
  private async route(stream: RelayStream, grant: StreamGrant, opener: Opener): Promise<OpenRefusal | undefined> {
    const { serviceName } = grant;
    if (this.deps.revoked.has(grant.agentId)) {
      return new OpenRefusal(ResetCode.REVOKED, `Service ${serviceName} is offline: its agent was revoked`);
    }
    const e2e = checkEndToEnd(grant, opener);
    if (e2e instanceof OpenRefusal) return e2e;
    stream.carriesHandshake = e2e.handshake !== undefined;
    const local = this.deps.agents.find(grant.agentId);
    if (local !== undefined) {
      if (opener.kind === "peer" && local.identity.workspaceId !== grant.workspaceId) {
        // Cannot come from a hub that authorized the open; refused rather than trusted.
        return new OpenRefusal(ResetCode.SERVICE_NOT_FOUND, `Service ${serviceName} was not found`);
      }
      if (!local.hasCapacity()) {
        return new OpenRefusal(ResetCode.LIMIT_EXCEEDED, `Service ${serviceName} is at its stream limit: try again later`);
      }
      stream.share = grant.share;
      stream.servingAgentId = grant.agentId;
      const id = local.allocateStreamId();
      local.attach(id, stream, "server");
      stream.openOn({ peer: local, id }, (maxWindow) =>
        encodeOpen(id, {
          service: serviceName,
          maxWindow,
          ...(e2e.reacher === undefined ? {} : { peer: e2e.reacher }),
          ...(e2e.handshake === undefined ? {} : { e2e: { handshake: e2e.handshake } }),
        }),
      );
      return undefined;
    }
    const { cluster } = this.deps;
    if (cluster === undefined || opener.kind === "peer") {
      // A peer sends an open here only for an agent Redis placed here: it has just gone.
      const where = opener.kind === "peer" ? "this hub" : "the hub";
      return new OpenRefusal(
        ResetCode.SERVICE_OFFLINE,
        `Service ${serviceName} is offline: its agent is not connected to ${where}`,
      );
    }
    let hub: HubConnection | undefined;
    try {
      hub = await cluster.connectToHubOf(grant.agentId);
    } catch (error) {
      if (error instanceof OpenRefusal) return error;
      throw error;
    }
    if (!stream.isOpen) return new OpenRefusal(ResetCode.CANCELLED, "The stream closed before it could open");
    // The agent may have connected here while Redis answered.
    const arrived = this.deps.agents.find(grant.agentId);
    if (arrived !== undefined) return this.route(stream, grant, opener);
    if (hub === undefined) {
      return new OpenRefusal(
        ResetCode.SERVICE_OFFLINE,
        `Service ${serviceName} is offline: its agent is not connected to the hub`,
      );
    }
    if (!hub.hasCapacity()) {
      return new OpenRefusal(ResetCode.LIMIT_EXCEEDED, `The hub ${hub.remoteHubId} is at its stream limit: try again later`);
    }
    stream.share = grant.share;
    const id = hub.allocateStreamId();
    hub.attach(id, stream, "server");
    const client: PeerOpenRequest["client"] =
      opener.kind === "agent" ? { kind: "agent", ...reacherOf(opener.connection) } : { kind: "link", label: opener.label };
    stream.openOn({ peer: hub, id }, (maxWindow) =>
      encodePeerOpen(id, {
        agentId: grant.agentId,
        service: serviceName,
        workspaceId: grant.workspaceId,
        maxWindow,
        share: grant.share && { id: grant.share.id, expiresAt: grant.share.expiresAt.toISOString() },
        ...(e2e.handshake === undefined ? {} : { e2e: { handshake: e2e.handshake } }),
        client,
      }),
    );
    return undefined;
  }

  private refuse(stream: RelayStream, refusal: OpenRefusal): void {
    this.deps.metrics.countRefusedOpen(refusal.code);
    stream.reset(refusal.code, refusal.message);
  }
}

const E2E_REQUIRED_MESSAGE = "This service requires end-to-end encryption: update the agent";

function reacherOf(connection: AgentConnection): { agentId: string; workspaceId: string; label: string } {
  return { agentId: connection.identity.agentId, workspaceId: connection.identity.workspaceId, label: connection.label };
}

/** The reaching agent as the exposing agent is told of it, and the handshake it sent, if any. */
interface EndToEndOpen {
  reacher: { agentId: string; workspaceId: string; label: string } | undefined;
  handshake: string | undefined;
}

/**
 * The hub's part in end-to-end encryption: it cannot read or check a handshake, only refuse what
 * policy forbids (a plaintext open of a service that requires encryption, any public link's open
 * of one) and one made for another agent than the one serving the service now. The exposing
 * agent enforces the same policy itself, so a hub that skipped this check would gain nothing.
 */
function checkEndToEnd(grant: StreamGrant, opener: Opener): EndToEndOpen | OpenRefusal {
  const isRequired = grant.e2ePolicy === "required";
  switch (opener.kind) {
    case "link":
      if (isRequired) {
        return new OpenRefusal(
          ResetCode.E2E_REQUIRED,
          `Service ${grant.serviceName} requires end-to-end encryption, so the hub cannot serve it through a public link`,
        );
      }
      return { reacher: undefined, handshake: undefined };
    case "agent": {
      const reacher = reacherOf(opener.connection);
      const e2e = opener.request.e2e;
      if (e2e === undefined) {
        return isRequired ? new OpenRefusal(ResetCode.E2E_REQUIRED, E2E_REQUIRED_MESSAGE) : { reacher, handshake: undefined };
      }
      if (e2e.to !== grant.agentId) {
        return new OpenRefusal(
          ResetCode.E2E_PEER_CHANGED,
          `Service ${grant.serviceName} is served by another agent than the one this connection was encrypted for`,
        );
      }
      return { reacher, handshake: e2e.handshake };
    }
    case "peer": {
      const { client, e2e } = opener.request;
      // The opening hub already applied the policy; an older one sends no workspace id.
      const reacher =
        client.kind === "agent" && client.workspaceId !== undefined
          ? { agentId: client.agentId, workspaceId: client.workspaceId, label: client.label }
          : undefined;
      if (e2e === undefined && isRequired) return new OpenRefusal(ResetCode.E2E_REQUIRED, E2E_REQUIRED_MESSAGE);
      return { reacher, handshake: e2e?.handshake };
    }
  }
}
