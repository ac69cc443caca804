import { isUniqueConstraintError, type WorkspaceTx } from "@private-connect/db";
import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { WorkspaceE2ePolicy } from "../../schemas/e2e.js";
import {
  type ExposedService,
  type ExposeServiceInput,
  exposeServiceInput,
  type ParsedExposeServiceInput,
} from "../../schemas/services.js";
import { recordAuditEvent } from "../audit/record-audit-event.js";
import { effectiveE2ePolicy, readWorkspaceE2ePolicy } from "../e2e/e2e-policy.js";

const exposedServiceSelect = {
  id: true,
  name: true,
  targetHost: true,
  targetPort: true,
  agentId: true,
  e2ePolicy: true,
} as const;

interface ExposedServiceRow {
  id: string;
  name: string;
  targetHost: string;
  targetPort: number;
  agentId: string;
  e2ePolicy: string;
}

/** What the previous expose of the service said, for the audit event of a change. */
interface PreviousExpose {
  targetHost: string;
  targetPort: number;
  e2ePolicy: string;
}

export function describeE2eOffRefused(name: string): string {
  return `This workspace requires end-to-end encryption for every service, so ${name} cannot be exposed with --e2e off: expose it with --e2e required or --e2e preferred (connect expose ... --name ${name} --e2e preferred), or ask an owner to set the workspace's encryption policy to preferred in the dashboard's settings`;
}

/**
 * Exposes (or re-announces) a service of the calling agent. Idempotent for the same agent, which
 * re-exposes everything after each reconnect; a name held by another agent is a conflict. The
 * audit log gets an `expose` event when the service is created or its target changes, not for
 * the identical re-announcement every reconnect makes (the `connect` event already says that).
 * The service's end-to-end policy is what the agent sends each time (`--e2e`, "preferred" when
 * left out); "off" in a workspace whose policy is "required" is refused rather than stored, so the
 * agent's user learns at once that the service will not run in plaintext.
 */
export async function exposeService(
  deps: ApiDeps,
  principal: AgentPrincipal,
  rawInput: ExposeServiceInput,
): Promise<ExposedService> {
  // Parsed here too (as createLink does) so that direct callers get the same default and checks.
  const input = exposeServiceInput.parse(rawInput);
  let exposed: ExposedService;
  try {
    exposed = await upsertOwnService(deps, principal, input);
  } catch (error) {
    // Two agents (or two reconnects of one) raced past the existence check; the unique index
    // settled it, so one more pass now sees the winner and answers accordingly.
    if (!isUniqueConstraintError(error)) throw error;
    exposed = await upsertOwnService(deps, principal, input);
  }
  // After the commit, so subscribers never hear of a service that was rolled back.
  deps.events.publish(principal.workspaceId, { type: "service.exposed", name: exposed.name, agentId: exposed.agentId });
  return exposed;
}

async function upsertOwnService(
  deps: ApiDeps,
  principal: AgentPrincipal,
  input: ParsedExposeServiceInput,
): Promise<ExposedService> {
  const { workspaceId, agentId } = principal;
  const recordExpose = (tx: WorkspaceTx, previous?: PreviousExpose) =>
    recordAuditEvent(tx, workspaceId, {
      type: "service",
      action: "expose",
      actor: { type: "agent", id: agentId },
      clientType: principal.clientType,
      target: input.name,
      data: {
        serviceName: input.name,
        target: `${formatHost(input.targetHost)}:${input.targetPort}`,
        agentId,
        agentLabel: principal.label,
        e2ePolicy: input.e2e,
        ...(previous === undefined || (previous.targetHost === input.targetHost && previous.targetPort === input.targetPort)
          ? {}
          : { previousTarget: `${formatHost(previous.targetHost)}:${previous.targetPort}` }),
        ...(previous === undefined || previous.e2ePolicy === input.e2e ? {} : { previousE2ePolicy: previous.e2ePolicy }),
      },
      occurredAt: currentTime(deps),
    });
  return deps.db.withWorkspace(workspaceId, async (tx) => {
    // Not locked: an owner switching the workspace to "required" right after this read cannot be
    // undone by it, since the effective policy is computed from both at every read.
    const workspacePolicy = await readWorkspaceE2ePolicy(tx, workspaceId);
    if (workspacePolicy === "required" && input.e2e === "off") {
      throw new AppError("FORBIDDEN", describeE2eOffRefused(input.name));
    }
    const existing = await tx.service.findFirst({
      where: { workspaceId, name: input.name },
      select: {
        id: true,
        agentId: true,
        targetHost: true,
        targetPort: true,
        e2ePolicy: true,
        agent: { select: { label: true } },
      },
    });
    if (existing === null) {
      const created = await tx.service.create({
        data: {
          workspaceId,
          agentId,
          name: input.name,
          targetHost: input.targetHost,
          targetPort: input.targetPort,
          e2ePolicy: input.e2e,
        },
        select: exposedServiceSelect,
      });
      await recordExpose(tx);
      return toExposedService(created, workspacePolicy);
    }
    if (existing.agentId !== agentId) {
      throw new AppError(
        "CONFLICT",
        `Service name ${input.name} is already exposed by agent ${existing.agent.label}: choose another --name, or remove it there with connect expose --remove ${input.name}`,
      );
    }
    const updated = await tx.service.update({
      where: { id: existing.id, workspaceId, agentId },
      data: { targetHost: input.targetHost, targetPort: input.targetPort, e2ePolicy: input.e2e },
      select: exposedServiceSelect,
    });
    // A policy change is audited like a target change: "required" becoming "off" is worth a line.
    if (
      existing.targetHost !== input.targetHost ||
      existing.targetPort !== input.targetPort ||
      existing.e2ePolicy !== input.e2e
    ) {
      await recordExpose(tx, existing);
    }
    return toExposedService(updated, workspacePolicy);
  });
}

function toExposedService(row: ExposedServiceRow, workspacePolicy: WorkspaceE2ePolicy): ExposedService {
  return {
    id: row.id,
    name: row.name,
    targetHost: row.targetHost,
    targetPort: row.targetPort,
    agentId: row.agentId,
    e2ePolicy: effectiveE2ePolicy(workspacePolicy, row.e2ePolicy),
  };
}

/** host:port as people write it: an IPv6 address in brackets. */
export function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
