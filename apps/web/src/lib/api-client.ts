import type { AppRouter } from "@private-connect/api";
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, TRPCClientError } from "@trpc/client";

export type ApiClient = ReturnType<typeof createTRPCClient<AppRouter>>;

/**
 * The hub's API from the browser, through the dashboard's /trpc proxy (same origin, so the
 * HttpOnly session cookie goes along and no token ever sits in script-readable storage).
 * Requests are JSON POSTs or GETs, never forms: the hub refuses cookie-authenticated form posts.
 * `workspaceId` is sent as x-pc-workspace; a subscription (an EventSource, which cannot send
 * headers) names it in its connection parameters instead.
 */
export function createApiClient(workspaceId?: string): ApiClient {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === "subscription",
        true: httpSubscriptionLink({
          url: "/trpc",
          connectionParams: () => (workspaceId === undefined ? {} : { workspaceId }),
        }),
        // Not batched, not streamed: Set-Cookie (sign-in, sign-out, a renewed session) must
        // arrive with the response headers.
        false: httpLink({
          url: "/trpc",
          headers: () => (workspaceId === undefined ? {} : { "x-pc-workspace": workspaceId }),
        }),
      }),
    ],
  });
}

/** The tRPC code of a failed call (NOT_FOUND, FORBIDDEN, ...), if it came from the hub. */
export function errorCodeOf(error: unknown): string | undefined {
  return error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined;
}

/** A sentence for a person: the hub's messages already say what to do next. */
export function describeError(error: unknown): string {
  if (error instanceof TRPCClientError) {
    if (error.message.startsWith("Unexpected token") || error.message === "Failed to fetch") {
      return "The dashboard could not reach the hub: check your connection and try again";
    }
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong: try again";
}
