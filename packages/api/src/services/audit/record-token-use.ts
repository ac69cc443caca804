import { type AgentPrincipal, type ApiDeps, currentTime } from "../../deps.js";
import { normalizeIp } from "../agents/record-agent-seen.js";
import { recordAuditEvent } from "./record-audit-event.js";

/**
 * How often one agent's token use from one place is written down. A busy agent authenticates
 * every control-plane call (and every relay reconnect); one row per request would drown the log
 * and put a write on every request's path. What an investigation needs is "this token was used
 * from this address with this client, around this time", which one row per ten minutes says.
 * A new address or user agent is recorded at once.
 */
export const TOKEN_USE_INTERVAL_MS = 10 * 60_000;

/** Bounds the throttle's memory whatever a caller sprays (many addresses, odd user agents). */
const MAX_TRACKED_USES = 10_000;
/** The audit table's user_agent column holds at most this many characters. */
const MAX_USER_AGENT_LENGTH = 512;

export interface TokenUse {
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** What the token authenticated: a control-plane call, or a relay connection. */
  via: "api" | "relay";
}

/**
 * In memory and per hub process, keyed by the hub's deps (one ApiDeps per hub): the throttle only
 * has to keep the log readable, and with several hubs each writing its own row per ten minutes the
 * log still says what it must. When a row is due, last-written time per agent + IP + user agent;
 * Map order doubles as oldest-first order for the bound.
 */
const lastRecordedByDeps = new WeakMap<ApiDeps, Map<string, number>>();

/**
 * Appends a `token` `use` event (agent id, client type, IP, user agent) when an agent token has
 * just authenticated, at most once per TOKEN_USE_INTERVAL_MS for the same agent, address and user
 * agent. Awaited by the caller: a use that cannot be recorded fails the request instead of going
 * unrecorded (and is retried by the next request, since the slot is released).
 */
export async function recordTokenUse(deps: ApiDeps, principal: AgentPrincipal, use: TokenUse): Promise<void> {
  const ip = normalizeIp(use.ip);
  const userAgent = use.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) || undefined;
  const key = `${principal.agentId}\n${ip ?? ""}\n${userAgent ?? ""}`;
  const now = currentTime(deps);
  const nowMs = now.getTime();
  let lastRecorded = lastRecordedByDeps.get(deps);
  if (lastRecorded === undefined) {
    lastRecorded = new Map();
    lastRecordedByDeps.set(deps, lastRecorded);
  }
  const previous = lastRecorded.get(key);
  // An injected clock may move backwards in tests; a time before the last row is not "within".
  if (previous !== undefined && nowMs >= previous && nowMs - previous < TOKEN_USE_INTERVAL_MS) return;
  // Taken before the write, so concurrent requests of the same agent record one row, not several.
  lastRecorded.delete(key);
  lastRecorded.set(key, nowMs);
  forgetOldest(lastRecorded);
  try {
    await recordAuditEvent(deps, principal.workspaceId, {
      type: "token",
      action: "use",
      actor: { type: "agent", id: principal.agentId },
      clientType: principal.clientType,
      target: principal.agentId,
      ip,
      userAgent,
      data: { agentId: principal.agentId, label: principal.label, via: use.via },
      occurredAt: now,
    });
  } catch (error) {
    if (lastRecorded.get(key) === nowMs) lastRecorded.delete(key);
    throw error;
  }
}

/** Forgetting an entry can only cost one extra row later, never a missing one. */
function forgetOldest(lastRecorded: Map<string, number>): void {
  for (const key of lastRecorded.keys()) {
    if (lastRecorded.size <= MAX_TRACKED_USES) return;
    lastRecorded.delete(key);
  }
}
