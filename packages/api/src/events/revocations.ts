/** Something that gave access was revoked: whatever it carries right now must stop at once. */
export type Revocation =
  | { kind: "share"; shareId: string; workspaceId: string }
  | { kind: "link"; linkId: string; workspaceId: string }
  /** `reason` is what the agent is told before its relay connection closes (AGENT_REVOKED). */
  | { kind: "agent"; agentId: string; workspaceId: string; reason: string }
  /** A user left or was removed from the workspace; `reason` is what their open dashboard shows (403). */
  | { kind: "member"; userId: string; workspaceId: string; reason: string }
  /** `reason` is what a stream opened with the key ends with (401). */
  | { kind: "apiKey"; apiKeyId: string; workspaceId: string; reason: string }
  /** A signed-out session: no workspace, it ends the session's streams in every one (401). */
  | { kind: "session"; sessionId: string; userId: string };

/**
 * In-process notice of revocations, so that revoking a share, a link or an agent cuts what flows
 * through it in the same instant instead of at the next stream open. The relay and the link proxy
 * listen, and so does every open live-updates subscription (members, API keys and sessions
 * authenticate once, when the stream opens, so only this notice can end it). With several hubs this moves to Redis pub/sub behind the same interface.
 */
export interface Revocations {
  /** Calls every listener; a listener that throws does not stop the others. */
  publish(revocation: Revocation): void;
  /** Returns the function that stops listening. */
  subscribe(listener: (revocation: Revocation) => void): () => void;
}

export function createRevocations(): Revocations {
  const listeners = new Set<(revocation: Revocation) => void>();
  return {
    publish(revocation) {
      for (const listener of [...listeners]) {
        try {
          listener(revocation);
        } catch {
          // A listener's failure is its own; the others must still cut their streams.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
