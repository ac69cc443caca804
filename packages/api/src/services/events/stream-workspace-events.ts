import type { ApiDeps, Principal } from "../../deps.js";
import { type WorkspaceEventMessage, workspaceEventMessage } from "../../schemas/events.js";

/**
 * The live updates of the caller's own workspace: `subscribed` first, then every event published
 * for that workspace until the signal aborts. The channel is the authenticated principal's
 * workspace; there is deliberately no way to ask for another one.
 */
export async function* streamWorkspaceEvents(
  deps: ApiDeps,
  principal: Principal,
  options: { signal?: AbortSignal | undefined } = {},
): AsyncGenerator<WorkspaceEventMessage, void, undefined> {
  const { workspaceId } = principal;
  const events = deps.events.subscribe(workspaceId, { signal: options.signal });
  try {
    yield workspaceEventMessage.parse({ type: "subscribed", workspaceId });
    for await (const event of events) {
      // Parsing strips anything a publisher added beyond the declared shape.
      yield workspaceEventMessage.parse(event);
    }
  } finally {
    await events.return?.();
  }
}
