import { type TRPC_ERROR_CODE_KEY, TRPCError } from "@trpc/server";

export const APP_ERROR_CODES = [
  "NOT_FOUND",
  "UNAUTHORIZED",
  "TOKEN_EXPIRED",
  "FORBIDDEN",
  "CONFLICT",
  "BAD_REQUEST",
  "RATE_LIMITED",
  "UNAVAILABLE",
  "INTERNAL",
] as const;

export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

/** The one place where an application error becomes a transport status. */
const TRANSPORT_BY_CODE: Record<AppErrorCode, { trpc: TRPC_ERROR_CODE_KEY; http: number }> = {
  NOT_FOUND: { trpc: "NOT_FOUND", http: 404 },
  UNAUTHORIZED: { trpc: "UNAUTHORIZED", http: 401 },
  // Same status as UNAUTHORIZED; clients tell them apart by data.appCode and offer re-registration.
  TOKEN_EXPIRED: { trpc: "UNAUTHORIZED", http: 401 },
  FORBIDDEN: { trpc: "FORBIDDEN", http: 403 },
  CONFLICT: { trpc: "CONFLICT", http: 409 },
  BAD_REQUEST: { trpc: "BAD_REQUEST", http: 400 },
  RATE_LIMITED: { trpc: "TOO_MANY_REQUESTS", http: 429 },
  UNAVAILABLE: { trpc: "SERVICE_UNAVAILABLE", http: 503 },
  INTERNAL: { trpc: "INTERNAL_SERVER_ERROR", http: 500 },
};

/**
 * An error a caller can act on. The message is shown to users as is, so it says what to do next
 * and never contains a secret.
 */
export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: AppErrorCode;
  /** For RATE_LIMITED: when trying again can succeed (also in the message, for people). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: AppErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

export function trpcCodeForAppError(code: AppErrorCode): TRPC_ERROR_CODE_KEY {
  return TRANSPORT_BY_CODE[code].trpc;
}

export function httpStatusForAppError(code: AppErrorCode): number {
  return TRANSPORT_BY_CODE[code].http;
}

/** Wraps an AppError for tRPC; the AppError stays reachable as `cause`. */
export function toTRPCError(error: AppError): TRPCError {
  return new TRPCError({ code: trpcCodeForAppError(error.code), message: error.message, cause: error });
}

/** Messages every outsider gets, whatever exists elsewhere: identical on purpose. */
export const SERVICE_NOT_FOUND = "Service not found";
export const INVALID_CREDENTIALS = "Invalid credentials: check your API key or run connect up again";
// What a key or token looks like is no secret: a typo or a truncated paste is told apart from a
// key that does not exist, so the user fixes the copy instead of hunting for a revoked key.
export const MALFORMED_API_KEY =
  "Malformed API key: a key is pc_ followed by 32 letters and digits, as connect-hub workspace create or the dashboard printed it; check that it was copied whole";
export const MALFORMED_CREDENTIALS =
  "Malformed credentials: pass a workspace API key (pc_ followed by 32 letters and digits) or an agent token (64 hex characters)";
// No grace period and no rotation after expiry: the way back is a new registration.
export const AGENT_TOKEN_EXPIRED =
  "Agent token expired: register this machine again with `connect up --api-key <key>` or `connect login --hub <url>`";
export const PROVISIONED_TOKEN_EXPIRED =
  "Provisioned agent token expired: provision a new one (POST /v1/agents/provision) and run connect up --token <token>";
export const INTERNAL_ERROR = "Internal error in the hub: try again; if it keeps failing, check the hub logs";
export const DATABASE_UNAVAILABLE =
  "The hub cannot reach its database right now: try again shortly (connections already open keep working)";
// Here rather than in the hub's Redis client so the shared rate limiter's UNAVAILABLE and the
// hub's refusals of opens that need Redis say the one same thing.
export const REDIS_UNAVAILABLE_MESSAGE = "The hub cannot reach Redis right now: try again in a moment";

export function serviceNotFound(): AppError {
  return new AppError("NOT_FOUND", SERVICE_NOT_FOUND);
}

// User identity (magic links, sessions, members, API keys). Outsiders get the same "not found"
// for a workspace, member or key that exists elsewhere as for one that exists nowhere.
export const SIGN_IN_LINK_INVALID = "This sign-in link has expired or was already used: request a new one";
export const SESSION_EXPIRED = "Your session has expired or you signed out: sign in again with a new link";
export const WORKSPACE_NOT_FOUND = "Workspace not found";
export const WORKSPACE_REQUIRED =
  "Choose a workspace: send the x-pc-workspace header with the id of one of your workspaces (auth.me lists them)";
export const USER_SESSION_REQUIRED =
  "This call needs a signed-in user, not an API key or agent token: sign in with a magic link first";
export const MEMBER_NOT_FOUND = "Member not found";
export const API_KEY_NOT_FOUND = "API key not found";
export const OWNER_REQUIRED_FOR_MEMBERS = "Only an owner of this workspace can manage its members: ask an owner to do it";
export const OWNER_REQUIRED_FOR_API_KEYS =
  "Only an owner of this workspace (or one of its API keys) can manage API keys: ask an owner to do it";
export const OWNER_REQUIRED_FOR_SETTINGS = "Only an owner of this workspace can change its settings: ask an owner to do it";
export const AGENT_NOT_FOUND = "Agent not found";
export const LAST_OWNER = "A workspace needs at least one owner: make another member an owner first";
