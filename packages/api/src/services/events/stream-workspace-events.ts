import type { ApiDeps, Principal } from "../../deps.js";
import { AppError, SESSION_EXPIRED } from "../../errors.js";
import type { Revocation } from "../../events/revocations.js";
import { type WorkspaceEventMessage, workspaceEventMessage } from "../../schemas/events.js";

/**
 * The live updates of the caller's own workspace: `subscribed` first, then every event published
 * for that workspace until the signal aborts. The channel is the authenticated principal's
 * workspace; there is deliberately no way to ask for another one. Authentication ran once, when
 * the stream opened, so the stream ends itself the moment the credential behind it goes: a revoked
 * agent or API key (401), a member removed from or leaving the workspace (403), a signed-out
 * session (401). Nobody keeps hearing about a workspace they no longer have access to.
 */
export async function* streamWorkspaceEvents(
  deps: ApiDeps,
  principal: Principal,
  options: { signal?: AbortSignal | undefined } = {},
): AsyncGenerator<WorkspaceEventMessage, void, undefined> {
  const { workspaceId } = principal;
  const revoked = new AbortController();
  let ending: AppError | undefined;
  const stopListening = deps.revocations.subscribe((revocation) => {
    if (ending !== undefined) return;
    ending = describeSubscriptionEnd(principal, revocation);
    if (ending !== undefined) revoked.abort();
  });
  const signal = options.signal === undefined ? revoked.signal : AbortSignal.any([options.signal, revoked.signal]);
  const events = deps.events.subscribe(workspaceId, { signal });
  try {
    yield workspaceEventMessage.parse({ type: "subscribed", workspaceId });
    for await (const event of events) {
      // Parsing strips anything a publisher added beyond the declared shape.
      yield workspaceEventMessage.parse(event);
    }
    if (ending !== undefined) throw ending;
  } finally {
    stopListening();
    await events.return?.();
  }
}

/** The error this principal's stream ends with because of `revocation`, or undefined if it is someone else's. */
function describeSubscriptionEnd(principal: Principal, revocation: Revocation): AppError | undefined {
  switch (revocation.kind) {
    case "agent":
      return principal.kind === "agent" && principal.agentId === revocation.agentId
        ? new AppError("UNAUTHORIZED", revocation.reason)
        : undefined;
    case "apiKey":
      return principal.kind === "apiKey" && principal.apiKeyId === revocation.apiKeyId
        ? new AppError("UNAUTHORIZED", revocation.reason)
        : undefined;
    case "member":
      // The user's streams of their other workspaces go on: only this membership ended.
      return principal.kind === "user" &&
        principal.userId === revocation.userId &&
        principal.workspaceId === revocation.workspaceId
        ? new AppError("FORBIDDEN", revocation.reason)
        : undefined;
    case "session":
      // Only that browser's session: the same person signed in elsewhere keeps their live updates.
      return principal.kind === "user" && principal.sessionId === revocation.sessionId
        ? new AppError("UNAUTHORIZED", SESSION_EXPIRED)
        : undefined;
    case "share":
    case "link":
      // They carry relay streams and link requests, not a subscriber's credential.
      return undefined;
  }
}
