import type { Database } from "@private-connect/db";
import type { WorkspaceEvents } from "./events/workspace-events.js";

export interface ApiDeps {
  db: Database;
  config: { tokenExpiryDays: number };
  /** Injected clock, for tests of expiry. */
  now?: () => Date;
  presence: { isAgentOnline(agentId: string): boolean };
  /** Live updates, one channel per workspace (createWorkspaceEvents()). */
  events: WorkspaceEvents;
}

export interface ApiKeyPrincipal {
  kind: "apiKey";
  apiKeyId: string;
  workspaceId: string;
}

export interface AgentPrincipal {
  kind: "agent";
  agentId: string;
  workspaceId: string;
  label: string;
  clientType: string;
  tokenExpiresAt: Date;
}

/** Who is calling, already resolved to exactly one workspace. */
export type Principal = ApiKeyPrincipal | AgentPrincipal;

export function currentTime(deps: ApiDeps): Date {
  return deps.now?.() ?? new Date();
}
