import { CloseCode, encodeControl } from "@private-connect/protocol";
import type { AgentConnection } from "./agent-connection.js";
import type { RelayAuthority } from "./relay-authority.js";
import { isPossiblyCloned, type RelayCluster } from "./relay-cluster.js";

/**
 * The agents connected to this hub and past their hello, by id: who streams can be routed to
 * here. One connection per agent identity, here and across the cluster: the newest replaces
 * the older, and a second live connection of one token is reported as possibly cloned.
 */
export class AgentRegistry {
  private readonly online = new Map<string, AgentConnection>();

  constructor(
    private readonly authority: RelayAuthority,
    private readonly cluster: RelayCluster | undefined,
  ) {}

  get size(): number {
    return this.online.size;
  }

  find(agentId: string): AgentConnection | undefined {
    return this.online.get(agentId);
  }

  list(): AgentConnection[] {
    return [...this.online.values()];
  }

  add(connection: AgentConnection): void {
    const { agentId } = connection.identity;
    const previous = this.online.get(agentId);
    if (previous && previous !== connection) {
      previous.close(CloseCode.REPLACED, "replaced by a newer connection");
      this.reportDuplicate(connection, { ip: previous.ip, instance: previous.instance });
    }
    this.online.set(agentId, connection);
    connection.log.info({ label: connection.label, clientType: connection.identity.clientType }, "agent connected");
    this.authority.onAgentConnected?.(connection.identity, connection.ip, connection.log).then(
      (notices) => {
        for (const notice of notices) connection.sendFrame(encodeControl(notice));
      },
      (error: unknown) => connection.log.warn({ err: String(error) }, "could not record the agent's connection"),
    );
    this.cluster?.agentConnected(connection).then(
      (replaced) => {
        if (replaced !== undefined) this.reportDuplicate(connection, replaced);
      },
      (error: unknown) =>
        // Redis is away: the location is written again at the next refresh, once it is back.
        connection.log.warn({ err: String(error) }, "could not record where the agent is connected"),
    );
  }

  /** Takes the connection offline if it is the agent's current one; true when it was. */
  remove(connection: AgentConnection): boolean {
    if (this.online.get(connection.identity.agentId) !== connection) return false;
    this.online.delete(connection.identity.agentId);
    connection.log.info("agent disconnected");
    this.authority.onAgentDisconnected?.(connection.identity, connection.ip, connection.log);
    this.cluster?.agentDisconnected(connection);
    return true;
  }

  private reportDuplicate(
    connection: AgentConnection,
    previous: { ip: string; hubId?: string; instance?: string | undefined },
  ): void {
    if (!isPossiblyCloned(previous, connection)) {
      connection.log.info({ previousHubId: previous.hubId }, "the agent reconnected before its older connection closed");
      return;
    }
    connection.log.warn(
      { previousIp: previous.ip, previousHubId: previous.hubId },
      "a second live connection of this agent's token replaced the first",
    );
    this.authority
      .onDuplicateConnection?.(connection.identity, {
        previousIp: previous.ip,
        newIp: connection.ip,
        previousHubId: previous.hubId,
        hubId: this.cluster?.hubId,
      })
      .catch((error: unknown) => connection.log.warn({ err: String(error) }, "could not audit the duplicate connection"));
  }
}
