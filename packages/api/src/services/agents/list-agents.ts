import type { ApiDeps, Principal } from "../../deps.js";
import type { AgentCreatorView, AgentListItem } from "../../schemas/agents.js";
import { maskIp } from "../links/record-link-access.js";
import { tokenMaxExpiresAt } from "./token-lifetime.js";

/** IP changes shown per agent: the latest few tell "this token moved"; the audit log keeps the rest. */
const IP_CHANGES_PER_AGENT = 5;

/**
 * The workspace's agents (revoked ones left out), online ones first, then by label: what the
 * dashboard's overview shows. Addresses are masked here, before they leave the API, since a
 * member who may see that an agent moved need not learn where it is. Each agent says what let it
 * in (key name or approver's email), so an owner knows whom to ask before revoking it.
 */
export async function listAgents(
  deps: ApiDeps,
  principal: Pick<Principal, "workspaceId"> & { kind?: Principal["kind"]; agentId?: string },
): Promise<AgentListItem[]> {
  const { workspaceId } = principal;
  const { rows, keyNames, userEmails } = await deps.db.withWorkspace(workspaceId, async (tx) => {
    const rows = await tx.agent.findMany({
      where: { workspaceId, revokedAt: null },
      orderBy: [{ label: "asc" }, { createdAt: "asc" }],
      select: {
        id: true,
        label: true,
        clientType: true,
        lastSeenAt: true,
        lastIp: true,
        tokenExpiresAt: true,
        provisionedAt: true,
        createdAt: true,
        createdByType: true,
        createdById: true,
        ipChanges: {
          orderBy: [{ changedAt: "desc" }, { id: "desc" }],
          take: IP_CHANGES_PER_AGENT,
          select: { previousIp: true, newIp: true, changedAt: true },
        },
      },
    });
    const keyIds = creatorIds(rows, ["api_key", "provisioning_key"]);
    const userIds = creatorIds(rows, ["user"]);
    // Revoked keys keep their names: "registered by ci (revoked)" is still worth knowing.
    const keys =
      keyIds.length === 0
        ? []
        : await tx.apiKey.findMany({ where: { workspaceId, id: { in: keyIds } }, select: { id: true, name: true } });
    // Users are visible only through a membership of this workspace (RLS): a removed member's
    // agents were revoked with the removal, so nothing here needs their address.
    const members =
      userIds.length === 0
        ? []
        : await tx.membership.findMany({
            where: { workspaceId, userId: { in: userIds } },
            select: { userId: true, user: { select: { email: true } } },
          });
    return {
      rows,
      keyNames: new Map(keys.map((key) => [key.id, key.name])),
      userEmails: new Map(members.map((member) => [member.userId, member.user.email])),
    };
  });
  // A provisioned agent is a runtime minted for minutes or hours, not a machine a person enrolled:
  // it sees what let each agent in, but not the people's addresses (nor key names), as members.list
  // shows agents nothing.
  const isProvisionedCaller =
    principal.kind === "agent" && rows.some((row) => row.id === principal.agentId && row.provisionedAt !== null);
  const visibleKeyNames = isProvisionedCaller ? new Map<string, string>() : keyNames;
  const visibleEmails = isProvisionedCaller ? new Map<string, string>() : userEmails;
  const onlineAgents = await deps.presence.findOnlineAgents(rows.map((row) => row.id));
  const agents = rows.map(
    (row): AgentListItem => ({
      agentId: row.id,
      label: row.label,
      clientType: row.clientType,
      online: onlineAgents.has(row.id),
      lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
      lastIp: maskIp(row.lastIp ?? undefined) ?? null,
      tokenExpiresAt: row.tokenExpiresAt.toISOString(),
      isProvisioned: row.provisionedAt !== null,
      createdAt: row.createdAt.toISOString(),
      createdBy: describeCreator(row.createdByType, row.createdById, visibleKeyNames, visibleEmails),
      tokenMaxExpiresAt: tokenMaxExpiresAt(
        deps,
        row.createdAt,
        row.provisionedAt === null ? undefined : { tokenExpiresAt: row.tokenExpiresAt },
      ).toISOString(),
      recentIpChanges: row.ipChanges.map((change) => ({
        previousIp: maskIp(change.previousIp) ?? "x",
        newIp: maskIp(change.newIp) ?? "x",
        at: change.changedAt.toISOString(),
      })),
    }),
  );
  // Stable sort: online agents first, each group still by label.
  return agents.sort((a, b) => Number(b.online) - Number(a.online));
}

function creatorIds(rows: { createdByType: string | null; createdById: string | null }[], types: string[]): string[] {
  const ids = new Set<string>();
  for (const row of rows) if (row.createdById !== null && types.includes(row.createdByType ?? "")) ids.add(row.createdById);
  return [...ids];
}

function describeCreator(
  type: string | null,
  id: string | null,
  keyNames: Map<string, string>,
  userEmails: Map<string, string>,
): AgentCreatorView {
  if (id === null) return { type: "unknown", id: null, name: null };
  if (type === "api_key" || type === "provisioning_key") return { type, id, name: keyNames.get(id) ?? null };
  if (type === "user") return { type, id, name: userEmails.get(id) ?? null };
  return { type: "unknown", id: null, name: null };
}
