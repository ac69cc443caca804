import type { ApiDeps, Principal } from "../../deps.js";
import { AppError } from "../../errors.js";
import { type WorkspaceEventMessage, workspaceEventMessage } from "../../schemas/events.js";

/**
 * The live updates of the caller's own workspace: `subscribed` first, then every event published
 * for that workspace until the signal aborts. The channel is the authenticated principal's
 * workspace; there is deliberately no way to ask for another one. An agent's subscription ends,
 * with the revocation's reason as a 401, the moment that agent is revoked: authentication ran once,
 * when the stream opened, and a revoked agent must not keep hearing about the workspace.
 */
export async function* streamWorkspaceEvents(
  deps: ApiDeps,
  principal: Principal,
  options: { signal?: AbortSignal | undefined } = {},
): AsyncGenerator<WorkspaceEventMessage, void, undefined> {
  const { workspaceId } = principal;
  const revoked = new AbortController();
  let revocationReason: string | undefined;
  const stopListening =
    principal.kind === "agent"
      ? deps.revocations.subscribe((revocation) => {
          if (revocation.kind !== "agent" || revocation.agentId !== principal.agentId) return;
          revocationReason = revocation.reason;
          revoked.abort();
        })
      : () => undefined;
  const signal = options.signal === undefined ? revoked.signal : AbortSignal.any([options.signal, revoked.signal]);
  const events = deps.events.subscribe(workspaceId, { signal });
  try {
    yield workspaceEventMessage.parse({ type: "subscribed", workspaceId });
    for await (const event of events) {
      // Parsing strips anything a publisher added beyond the declared shape.
      yield workspaceEventMessage.parse(event);
    }
    if (revocationReason !== undefined) throw new AppError("UNAUTHORIZED", revocationReason);
  } finally {
    stopListening();
    await events.return?.();
  }
}
