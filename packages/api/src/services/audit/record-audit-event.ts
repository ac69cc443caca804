import type { Prisma, WorkspaceTx } from "@private-connect/db";
import type { ApiDeps, Principal } from "../../deps.js";

/**
 * What an event is about, for the events the hub itself records. Open-ended in the database:
 * agent runtimes report their own types (file, command, ...) through reportAction.
 */
export type AuditEventType =
  | "agent"
  | "token"
  | "service"
  | "share"
  | "link"
  | "user"
  | "api_key"
  | "member"
  | "workspace"
  // What an agent saw of a peer agent's end-to-end key (agents.reportPeerKey).
  | "e2e";

export type AuditAction =
  | "connect"
  | "disconnect"
  | "register"
  | "provisioned"
  | "rotated"
  | "ip_change"
  // A second live connection of one agent token (possibly a copied credential).
  | "duplicate_connection"
  | "expose"
  | "unexpose"
  | "create"
  | "revoke"
  | "join"
  | "access"
  | "use"
  | "login"
  | "logout"
  | "invite"
  | "cancel_invitation"
  | "accept_invitation"
  | "decline_invitation"
  | "role_change"
  | "remove"
  // End-to-end encryption: an agent registered a new static key; a peer's key differed from the
  // pin, was accepted (connect trust) or verified by safety number (connect verify), or was
  // refused for want of a workspace certificate; an owner changed the workspace's policy.
  | "e2e_key_changed"
  | "peer_key_changed"
  | "peer_key_trusted"
  | "peer_key_verified"
  | "peer_key_uncertified"
  | "e2e_policy_changed"
  // What an agent runtime (or its guard) reports it did with an action: audit.reportAction.
  | "allow"
  | "review"
  | "block";

/** Who did it. Only the hub itself acts without an id. */
export type AuditActor =
  | { type: "user"; id: string }
  | { type: "api_key"; id: string }
  | { type: "agent"; id: string }
  | { type: "system" };

/** The actor of an action taken by an authenticated caller. */
export function auditActorFor(principal: Principal): Exclude<AuditActor, { type: "system" }> {
  switch (principal.kind) {
    case "agent":
      return { type: "agent", id: principal.agentId };
    case "apiKey":
      return { type: "api_key", id: principal.apiKeyId };
    case "user":
      return { type: "user", id: principal.userId };
  }
}

export interface AuditEventInput {
  type: AuditEventType;
  action: AuditAction;
  actor: AuditActor;
  /** The client type of the agent the event concerns (the acting agent, or the one provisioned). */
  clientType?: string | undefined;
  /** What was acted on, as `connect audit` shows it: an agent id, a service name, ... */
  target?: string | undefined;
  reason?: string | undefined;
  /** Whole, not masked: the audit table is where addresses are kept for investigation. */
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** The event's own facts. Never a secret: tokens and keys appear only by id. */
  data?: Record<string, Prisma.InputJsonValue | null>;
  /** The caller's clock (currentTime(deps)), so an injected clock dates events too. */
  occurredAt?: Date | undefined;
}

/**
 * Appends one event to the workspace's audit log. Given the `tx` of the action's own
 * withWorkspace transaction, the event commits or rolls back with the action, so the log never
 * records something that did not happen nor misses something that did; given `deps`, it opens a
 * transaction of its own (for facts that have no transaction to join, such as a disconnect).
 * The runtime role can only insert and read these rows: nothing here or elsewhere can edit one.
 */
export async function recordAuditEvent(
  target: WorkspaceTx | ApiDeps,
  workspaceId: string,
  event: AuditEventInput,
): Promise<void> {
  if (isApiDeps(target)) {
    await target.db.withWorkspace(workspaceId, (tx) => insertAuditEvent(tx, workspaceId, event));
    return;
  }
  await insertAuditEvent(target, workspaceId, event);
}

async function insertAuditEvent(tx: WorkspaceTx, workspaceId: string, event: AuditEventInput): Promise<void> {
  await tx.auditEvent.create({
    data: {
      workspaceId,
      type: event.type,
      action: event.action,
      actorType: event.actor.type,
      actorId: event.actor.type === "system" ? null : event.actor.id,
      clientType: event.clientType ?? null,
      target: event.target ?? null,
      reason: event.reason ?? null,
      ip: event.ip ?? null,
      userAgent: event.userAgent ?? null,
      data: (event.data ?? {}) as Prisma.InputJsonObject,
      ...(event.occurredAt === undefined ? {} : { occurredAt: event.occurredAt }),
    },
    select: { id: true },
  });
}

function isApiDeps(target: WorkspaceTx | ApiDeps): target is ApiDeps {
  return "db" in target && "config" in target;
}
