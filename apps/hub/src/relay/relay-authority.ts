import type { NoticeMessage, OpenRequest } from "@private-connect/protocol";
import type { Logger } from "pino";
import type { AgentIdentity } from "./agent-connection.js";

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
  /**
   * A newer connection of the agent's token replaced one that was still live (on this hub or
   * another): recorded in the audit log as a possibly cloned credential.
   */
  onDuplicateConnection?(
    agent: AgentIdentity,
    connections: { previousIp: string; newIp: string; previousHubId?: string | undefined; hubId?: string | undefined },
  ): Promise<void>;
}

/** Where an authorized stream goes, and, for a stream through a share, what it depends on. */
export interface StreamGrant {
  agentId: string;
  serviceName: string;
  /** The exposing agent's workspace (the share's owner for a stream through a share). */
  workspaceId: string;
  share?: { id: string; expiresAt: Date } | undefined;
  /**
   * The service's end-to-end policy (the workspace's, when that is stricter): under "required" the
   * hub refuses an open without a handshake, and every public link's. Absent: "preferred".
   */
  e2ePolicy?: E2ePolicy | undefined;
}

export type E2ePolicy = "required" | "preferred" | "off";

/** How an authorization failure reaches the agent: as a stream reset with a code and text. */
export class OpenRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
