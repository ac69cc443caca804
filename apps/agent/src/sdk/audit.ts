// The audit log from a program: an AI agent runtime (or the guard in front of it) reports what it
// allowed, sent for review or blocked, and reads the workspace's log back. Agent#reportAction does
// the same for a running Agent.
import { normalizeHubUrl } from "../config/hub-url.js";
import { readAgentEnv } from "../env.js";
import { callHub, createHubClient, type HubClient } from "./hub-client.js";

/** What `audit.reportAction` accepts: type (file, command, ...), action (allow | review | block), target, reason?, data?. */
export type ReportActionInput = Parameters<HubClient["audit"]["reportAction"]["mutate"]>[0];
export type ReportActionResult = Awaited<ReturnType<HubClient["audit"]["reportAction"]["mutate"]>>;
/** Filters and paging of `audit.list`: limit (1-1000), type, action, since (seconds or ISO), before (a cursor). */
export type AuditListInput = NonNullable<Parameters<HubClient["audit"]["list"]["query"]>[0]>;
export type AuditListResult = Awaited<ReturnType<HubClient["audit"]["list"]["query"]>>;
export type AuditEvent = AuditListResult["events"][number];
export type AuditStatsInput = NonNullable<Parameters<HubClient["audit"]["stats"]["query"]>[0]>;
export type AuditStatsResult = Awaited<ReturnType<HubClient["audit"]["stats"]["query"]>>;

export interface AuditClientOptions {
  /** http(s)://host[:port] of the hub. */
  hubUrl: string;
  /** The agent's token (the agent is then the actor), or a workspace API key (`pc_...`). */
  token: string;
  /** Allow http:// to non-loopback hubs. Defaults to CONNECT_ALLOW_INSECURE. */
  isInsecureAllowed?: boolean;
}

function connectAuditClient(options: AuditClientOptions): { hubUrl: string; client: HubClient } {
  const hubUrl = normalizeHubUrl(options.hubUrl, {
    isInsecureAllowed: options.isInsecureAllowed ?? readAgentEnv().isInsecureAllowed,
  });
  return { hubUrl, client: createHubClient(hubUrl, options.token) };
}

/**
 * Records an action an AI agent runtime allowed, sent for review or blocked, with the agent as
 * the actor. The hub refuses (INVALID_INPUT) an action other than allow/review/block, a type the
 * hub records itself, control characters, or more than 1024 characters of target or reason or 8 KiB
 * of data: report the facts (a path, a command line), never file contents or payloads.
 *
 * @example
 * await reportAction({ hubUrl, token }, { type: "command", action: "block", target: "rm -rf /", reason: "destructive" });
 */
export async function reportAction(options: AuditClientOptions, input: ReportActionInput): Promise<ReportActionResult> {
  const { hubUrl, client } = connectAuditClient(options);
  return reportActionWith(hubUrl, client, input);
}

/** The workspace's audit events, newest first; pass `nextCursor` as `before` for the next page. */
export async function listAuditEvents(options: AuditClientOptions, input: AuditListInput = {}): Promise<AuditListResult> {
  const { hubUrl, client } = connectAuditClient(options);
  return callHub(hubUrl, () => client.audit.list.query(input));
}

/** Counts of the workspace's audit events by type and by action over a period. */
export async function getAuditStats(options: AuditClientOptions, input: AuditStatsInput = {}): Promise<AuditStatsResult> {
  const { hubUrl, client } = connectAuditClient(options);
  return callHub(hubUrl, () => client.audit.stats.query(input));
}

/** reportAction over an existing client (the Agent's own). */
export function reportActionWith(hubUrl: string, client: HubClient, input: ReportActionInput): Promise<ReportActionResult> {
  return callHub(hubUrl, () => client.audit.reportAction.mutate(input));
}
