import type { AppRouter } from "@private-connect/api";
import { createTRPCClient, httpLink, isTRPCClientError, type TRPCClient } from "@trpc/client";
import { ConnectError } from "../errors.js";

/** The typed control-plane client: `client.services.list.query()`, `client.agents.register.mutate(...)`. */
export type HubClient = TRPCClient<AppRouter>;

export interface HubClientOptions {
  /** Abort a control-plane call after this long; a hub that accepts TCP but never answers must not hang the CLI. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * Creates the typed tRPC client for `<hubUrl>/trpc`, authenticated with an API key (`pc_...`)
 * or an agent token, or anonymous (undefined) for the public calls of `connect login`. A function
 * is read on every call, so an agent that rotates its token keeps one client. `hubUrl` is
 * expected normalized (see `normalizeHubUrl`).
 */
export function createHubClient(
  hubUrl: string,
  bearer: string | (() => string) | undefined,
  options: HubClientOptions = {},
): HubClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${hubUrl.replace(/\/+$/, "")}/trpc`,
        headers: (): Record<string, string> => {
          const current = typeof bearer === "function" ? bearer() : bearer;
          return current === undefined ? {} : { authorization: `Bearer ${current}` };
        },
        fetch: (input, init) => {
          const timeout = AbortSignal.timeout(timeoutMs);
          const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
          return fetch(input, { ...init, signal });
        },
      }),
    ],
  });
}

function findErrorCode(error: unknown): string | undefined {
  // Node's fetch wraps the socket error (ECONNREFUSED, ENOTFOUND...) one or two causes deep.
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET") return code;
    current = current.cause;
  }
  return undefined;
}

function isTimeout(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (current.name === "TimeoutError" || current.name === "AbortError") return true;
    current = current.cause;
  }
  return false;
}

/**
 * The server's message, one line. tRPC reports a failed input validation as the JSON list of
 * zod issues; their first message is the sentence meant for a person.
 */
function readServerMessage(message: string): string {
  const trimmed = message.trim();
  if (trimmed.startsWith("[")) {
    try {
      const issues: unknown = JSON.parse(trimmed);
      if (Array.isArray(issues)) {
        const first: unknown = issues[0];
        if (typeof first === "object" && first !== null && "message" in first && typeof first.message === "string") {
          return first.message;
        }
      }
    } catch {
      // Not JSON after all: show it as it came.
    }
  }
  return trimmed.split("\n")[0] ?? trimmed;
}

/**
 * Turns whatever a control-plane call threw into a ConnectError with one line a person can act
 * on. A hub's own error keeps its message (the hub words them to say what to do next);
 * transport failures become "Cannot reach the hub".
 */
export function toHubError(error: unknown, hubUrl: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isTRPCClientError(error)) {
    const code = error.data?.code;
    if (typeof code === "string") {
      const message = readServerMessage(error.message);
      if (code === "NOT_FOUND") return new ConnectError("SERVICE_NOT_FOUND", message, { cause: error });
      if (code === "BAD_REQUEST") return new ConnectError("INVALID_INPUT", message, { cause: error });
      // The hub words both the same way at the HTTP level; its appCode says which it was.
      if (error.data?.appCode === "TOKEN_EXPIRED") return new ConnectError("TOKEN_EXPIRED", message, { cause: error });
      if (code === "UNAUTHORIZED") return new ConnectError("HUB_UNAUTHORIZED", message, { cause: error });
      return new ConnectError("HUB_REJECTED", message, { cause: error });
    }
    if (isTimeout(error)) {
      return new ConnectError(
        "HUB_UNREACHABLE",
        `The hub at ${hubUrl} did not answer in time: check --hub and that the hub is running`,
        {
          cause: error,
        },
      );
    }
    const networkCode = findErrorCode(error);
    if (networkCode !== undefined || error.cause instanceof TypeError) {
      return new ConnectError("HUB_UNREACHABLE", `Cannot reach the hub at ${hubUrl}: check --hub and that the hub is running`, {
        cause: error,
      });
    }
    // Reached something, but it did not speak tRPC: a web server, a proxy page, a wrong path.
    return new ConnectError("HUB_UNREACHABLE", `The server at ${hubUrl} did not answer like a Private Connect hub: check --hub`, {
      cause: error,
    });
  }
  return new ConnectError("HUB_REJECTED", error instanceof Error ? error.message : String(error), { cause: error });
}

/** Runs one control-plane call and rethrows its failure as a ConnectError (see `toHubError`). */
export async function callHub<T>(hubUrl: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toHubError(error, hubUrl);
  }
}
