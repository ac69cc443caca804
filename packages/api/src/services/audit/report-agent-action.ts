import type { Prisma } from "@private-connect/db";
import { type ApiDeps, currentTime, type Principal } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { ReportActionOutput, ReportedAction } from "../../schemas/audit.js";
import { normalizeIp } from "../agents/record-agent-seen.js";
import { type AuditEventType, auditActorFor, recordAuditEvent } from "./record-audit-event.js";

const MAX_USER_AGENT_LENGTH = 512;

/**
 * Reports one reporter (agent or API key) may make per minute. Far above what a guarded runtime
 * does (one report per tool call), and low enough that a compromised or looping reporter cannot
 * fill the audit log: beyond it the report is refused with a retry hint, never silently dropped.
 */
export const REPORTS_PER_MINUTE = 600;

export interface ReportedActionInput {
  /** The runtime's own kind of action (file, command, network...): validated by reportActionInput. */
  type: string;
  action: ReportedAction;
  target: string;
  reason?: string | undefined;
  data?: Record<string, Prisma.InputJsonValue | null> | undefined;
}

/**
 * Records what an AI agent runtime (or the guard in front of it) did with an action: allowed it,
 * sent it for review, or blocked it. The reporting agent is the actor, with its client type (an
 * API key reporting for a runtime without an agent identity is the actor instead). People act
 * through the dashboard, where the hub records what they do itself: a session cannot report.
 */
export async function reportAgentAction(
  deps: ApiDeps,
  principal: Principal,
  input: ReportedActionInput,
  request: { ip?: string | undefined; userAgent?: string | undefined } = {},
): Promise<ReportActionOutput> {
  if (principal.kind === "user") {
    throw new AppError(
      "FORBIDDEN",
      "Actions are reported by agent runtimes: call audit.reportAction with the agent's token (or an API key), not a browser session",
    );
  }
  const occurredAt = currentTime(deps);
  const { workspaceId } = principal;
  const reporter = principal.kind === "agent" ? `agent:${principal.agentId}` : `api_key:${principal.apiKeyId}`;
  const decision = await deps.rateLimiter.take(
    [{ key: `report-action:${reporter}`, rule: { limit: REPORTS_PER_MINUTE, windowMs: 60_000 } }],
    occurredAt.getTime(),
  );
  if (!decision.isAllowed) {
    const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new AppError(
      "RATE_LIMITED",
      `Too many actions reported (at most ${REPORTS_PER_MINUTE} a minute per agent or key): try again in ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
  }
  await recordAuditEvent(deps, workspaceId, {
    // Open-ended on purpose: AuditEventType names the hub's own types, which the input schema
    // refuses here; everything else is the runtime's vocabulary.
    type: input.type as AuditEventType,
    action: input.action,
    actor: auditActorFor(principal),
    clientType: principal.kind === "agent" ? principal.clientType : undefined,
    target: input.target,
    reason: input.reason === "" ? undefined : input.reason,
    ip: normalizeIp(request.ip),
    userAgent: request.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) || undefined,
    data: input.data ?? {},
    occurredAt,
  });
  return { occurredAt: occurredAt.toISOString() };
}
