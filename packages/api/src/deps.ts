import type { Database } from "@private-connect/db";
import type { Revocations } from "./events/revocations.js";
import type { WorkspaceEvents } from "./events/workspace-events.js";
import type { Mailer } from "./services/auth/mailer.js";
import type { RateLimiter } from "./services/auth/rate-limiter.js";

export interface ApiDeps {
  db: Database;
  config: {
    tokenExpiryDays: number;
    /**
     * Rotations extend an agent's token, never past its registration plus this many days
     * (TOKEN_MAX_LIFETIME_DAYS); after that the machine registers again. Default 365.
     */
    tokenMaxLifetimeDays?: number;
    /**
     * Where people open the hub in a browser (the dashboard's origin), for links such as the
     * device-login page. Optional: without it the URL the caller says it used is taken.
     */
    publicUrl?: string;
    /**
     * Where the dashboard is when it is not at publicUrl (the embedded default serves it on a port
     * of its own): sign-in links and the device-login page point there, public links stay on the hub.
     */
    dashboardUrl?: string;
    /** Signs session cookies (the hub's JWT_SECRET); unsigned when absent, as in createCaller tests. */
    sessionSigningSecret?: string;
    /**
     * Public links are served at `<slug>.<linkDomain>` (the hub's LINK_DOMAIN, may end in :port);
     * without it, link URLs take the path form `<publicUrl>/l/<slug>/`.
     */
    linkDomain?: string;
    /**
     * Keys the hashes share codes and link slugs are stored as (the hub's ENCRYPTION_KEY, never in
     * the database). Optional only for processes that never touch codes (the admin CLI): a share
     * or link operation without it fails with a message saying so.
     */
    secretHashKey?: Uint8Array;
  };
  /** Injected clock, for tests of expiry. */
  now?: () => Date;
  presence: {
    /**
     * Which of these agents hold a relay connection right now, on any hub of the cluster. One
     * call per listing (with several hubs it is one Redis round trip, not one per row). A hub that
     * cannot reach Redis should answer for its own agents rather than fail the listing.
     */
    findOnlineAgents(agentIds: string[]): Promise<Set<string>>;
    /**
     * Live traffic of services (the dashboard's open connections and bytes): one answer per
     * service asked, in the same order, each listing at most `listed` of its largest streams. With
     * several hubs, the hub holding a service's agent answers for it (it sees every stream to it,
     * whichever hub the reach came through). Optional: a process without a relay (the admin CLI)
     * reports none.
     */
    describeServiceTraffic?(services: ServiceRef[], listed: number): Promise<ServiceTraffic[]>;
  };
  /** Live updates, one channel per workspace (createWorkspaceEvents()). */
  events: WorkspaceEvents;
  /** Sign-in and invitation links: createSmtpMailer(SMTP_URL, from), else createFileMailer(path, log). */
  mailer: Mailer;
  /** Limits sign-in link requests per address and per IP: createRateLimiter(), one per hub. */
  rateLimiter: RateLimiter;
  /** Revoked shares, links and agents, heard by the relay and the link proxy: createRevocations(). */
  revocations: Revocations;
}

/** A service as the relay knows it: the agent exposing it and its name. */
export interface ServiceRef {
  agentId: string;
  serviceName: string;
}

/** What the relay knows of one service: counters since the hub started, and its open streams. */
export interface ServiceTraffic {
  /** Bytes both ways, through closed and open streams. */
  bytesRelayed: number;
  /** Streams open now. */
  openStreams: number;
  /**
   * The largest open streams, largest first, as many as were asked for: the reaching agent (none
   * for a public link's request), the share it came through, its bytes, and whether it is end-to-end
   * encrypted (a Noise handshake between the two agents completed: the hub relays only ciphertext).
   * isEndToEnd is optional so that a hub of an older version in the same cluster, which never
   * sends it, still answers; absent reads as false (plaintext), never as encrypted.
   */
  streams: {
    clientAgentId?: string | undefined;
    shareId?: string | undefined;
    bytes: number;
    isEndToEnd?: boolean | undefined;
  }[];
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
  /**
   * Which of the agent's tokens authenticated: "pending" is the new token of a rotation the
   * agent has not confirmed yet. Undefined where the caller did not come through
   * authenticateBearer (the relay's own identity), which counts as "current".
   */
  tokenSlot?: "current" | "pending";
}

export type MemberRole = "owner" | "member";

/**
 * A person signed in with a session cookie. workspaceId and role are set once the workspace the
 * request names (x-pc-workspace) has been checked to be one of theirs.
 */
export interface UserPrincipal {
  kind: "user";
  userId: string;
  sessionId: string;
  email: string;
  workspaceId?: string;
  role?: MemberRole;
}

/** A signed-in user acting in one of their workspaces, with their role there. */
export interface WorkspaceUserPrincipal extends UserPrincipal {
  workspaceId: string;
  role: MemberRole;
}

/** Who is calling, already resolved to exactly one workspace. */
export type Principal = ApiKeyPrincipal | AgentPrincipal | WorkspaceUserPrincipal;

/** Who is calling, before any workspace is required: a signed-in user may not have chosen one. */
export type Caller = ApiKeyPrincipal | AgentPrincipal | UserPrincipal;

export function currentTime(deps: ApiDeps): Date {
  return deps.now?.() ?? new Date();
}
