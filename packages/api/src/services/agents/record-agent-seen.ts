import { isIPv4 } from "node:net";
import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";

const MAX_IP_LENGTH = 64;
/**
 * IP changes kept per agent. The table tells an agent's owner "your token was just used from
 * somewhere else"; the long-term record belongs to the audit log, so a laptop that roams
 * between networks all day does not grow it without bound.
 */
const MAX_IP_CHANGES_PER_AGENT = 100;

export interface AgentIpChanged {
  previousIp: string;
  newIp: string;
  at: string;
}

export interface RecordAgentSeenResult {
  /** Set when this use came from another address than the last one recorded for the agent. */
  ipChanged?: AgentIpChanged;
}

/**
 * The relay's hook for a new agent connection: stamps last_seen_at (and last_ip when known),
 * records an IP change in agent_ip_changes when the address differs from the last one (the
 * first address an agent is seen from is not a change), and appends the `connect` event (and the
 * `ip_change` one) to the audit log, all in one transaction.
 */
export async function recordAgentSeen(
  deps: ApiDeps,
  principal: AgentPrincipal,
  input: { ip?: string | undefined },
): Promise<RecordAgentSeenResult> {
  const { workspaceId, agentId, clientType } = principal;
  const ip = normalizeIp(input.ip);
  const now = currentTime(deps);
  const actor = { type: "agent", id: agentId } as const;
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    const recordConnect = () =>
      recordAuditEvent(tx, workspaceId, {
        type: "agent",
        action: "connect",
        actor,
        clientType,
        target: agentId,
        ip,
        data: { agentId, label: principal.label },
        occurredAt: now,
      });
    if (ip === undefined) {
      await tx.agent.updateMany({ where: { id: agentId, workspaceId }, data: { lastSeenAt: now } });
      await recordConnect();
      return {};
    }
    // Row lock: two connections of the same agent arriving together must not both read the old
    // address and both record the same change.
    const rows = await tx.$queryRaw<{ last_ip: string | null }[]>`
      SELECT last_ip FROM agents WHERE id = ${agentId}::uuid AND workspace_id = ${workspaceId}::uuid FOR UPDATE`;
    await tx.agent.updateMany({ where: { id: agentId, workspaceId }, data: { lastSeenAt: now, lastIp: ip } });
    await recordConnect();
    const previousIp = rows[0]?.last_ip ?? null;
    if (previousIp === null || previousIp === ip) return {};
    await tx.agentIpChange.create({
      data: { workspaceId, agentId, previousIp, newIp: ip, changedAt: now },
      select: { id: true },
    });
    await tx.$executeRaw`
      DELETE FROM agent_ip_changes
       WHERE agent_id = ${agentId}::uuid AND workspace_id = ${workspaceId}::uuid
         AND id NOT IN (SELECT id FROM agent_ip_changes
                         WHERE agent_id = ${agentId}::uuid AND workspace_id = ${workspaceId}::uuid
                         ORDER BY changed_at DESC, id DESC LIMIT ${MAX_IP_CHANGES_PER_AGENT})`;
    await recordAuditEvent(tx, workspaceId, {
      type: "token",
      action: "ip_change",
      actor,
      clientType,
      target: agentId,
      ip,
      data: { agentId, previousIp, newIp: ip },
      occurredAt: now,
    });
    return { ipChanged: { previousIp, newIp: ip, at: now.toISOString() } };
  });
}

/**
 * One spelling per address: a dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d, which
 * must not read as a change from a.b.c.d.
 */
export function normalizeIp(ip: string | undefined): string | undefined {
  const trimmed = ip?.trim().toLowerCase();
  if (trimmed === undefined || trimmed === "") return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(trimmed)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return mapped;
  return trimmed.slice(0, MAX_IP_LENGTH);
}
