import { type TRPC_ERROR_CODE_KEY, TRPCError } from "@trpc/server";

export const APP_ERROR_CODES = [
  "NOT_FOUND",
  "UNAUTHORIZED",
  "TOKEN_EXPIRED",
  "FORBIDDEN",
  "CONFLICT",
  "BAD_REQUEST",
  "RATE_LIMITED",
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
  INTERNAL: { trpc: "INTERNAL_SERVER_ERROR", http: 500 },
};

/**
 * An error a caller can act on. The message is shown to users as is, so it says what to do next
 * and never contains a secret.
 */
export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: AppErrorCode;

  constructor(code: AppErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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
export const AGENT_TOKEN_EXPIRED = "Agent token expired: run `connect up --api-key <key>` to register again";
export const INTERNAL_ERROR = "Internal error in the hub: try again; if it keeps failing, check the hub logs";

export function serviceNotFound(): AppError {
  return new AppError("NOT_FOUND", SERVICE_NOT_FOUND);
}
