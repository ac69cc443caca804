import type { Database } from "@private-connect/db";

export interface ApiDeps {
  db: Database;
  config: { tokenExpiryDays: number };
  /** Injected clock, for tests of expiry. */
  now?: () => Date;
  presence: { isAgentOnline(agentId: string): boolean };
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
