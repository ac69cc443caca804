/**
 * What went wrong, in terms a caller can branch on. The message is always written for a person
 * and says what to do next; the CLI prints it as is.
 */
export const CONNECT_ERROR_CODES = [
  "INVALID_INPUT",
  "INSECURE_HUB",
  "CONFIG_UNREADABLE",
  "NOT_REGISTERED",
  "HUB_UNREACHABLE",
  "HUB_REJECTED",
  "HUB_UNAUTHORIZED",
  "TOKEN_EXPIRED",
  "LOGIN_FAILED",
  "SERVICE_NOT_FOUND",
  "AGENT_NOT_FOUND",
  "PORT_IN_USE",
  "NOT_CONNECTED",
  "AGENT_NOT_RUNNING",
  "AGENT_ALREADY_RUNNING",
  "CONTROL_FAILED",
] as const;

export type ConnectErrorCode = (typeof CONNECT_ERROR_CODES)[number];

export class ConnectError extends Error {
  readonly code: ConnectErrorCode;

  constructor(code: ConnectErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConnectError";
    this.code = code;
  }
}

export function isConnectErrorCode(value: unknown): value is ConnectErrorCode {
  return typeof value === "string" && (CONNECT_ERROR_CODES as readonly string[]).includes(value);
}

export function isConnectError(error: unknown, code?: ConnectErrorCode): error is ConnectError {
  return error instanceof ConnectError && (code === undefined || error.code === code);
}

/** A one-line message for any thrown value, so nothing reaches a user as "[object Object]". */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.message;
  return String(error);
}
