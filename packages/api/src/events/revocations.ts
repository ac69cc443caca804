import { z } from "zod";

const id = z.string().min(1);

/**
 * Something that gave access was revoked: whatever it carries right now must stop at once. A
 * schema, not only a type, because with several hubs a revocation travels between them as JSON
 * and each hub parses what it receives.
 */
export const revocationSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("share"), shareId: id, workspaceId: id }),
  z.object({ kind: z.literal("link"), linkId: id, workspaceId: id }),
  /** `reason` is what the agent is told before its relay connection closes (AGENT_REVOKED). */
  z.object({ kind: z.literal("agent"), agentId: id, workspaceId: id, reason: z.string() }),
  /** A user left or was removed from the workspace; `reason` is what their open dashboard shows (403). */
  z.object({ kind: z.literal("member"), userId: id, workspaceId: id, reason: z.string() }),
  /** `reason` is what a stream opened with the key ends with (401). */
  z.object({ kind: z.literal("apiKey"), apiKeyId: id, workspaceId: id, reason: z.string() }),
  /** A signed-out session: no workspace, it ends the session's streams in every one (401). */
  z.object({ kind: z.literal("session"), sessionId: id, userId: id }),
]);
export type Revocation = z.infer<typeof revocationSchema>;

/**
 * In-process notice of revocations, so that revoking a share, a link or an agent cuts what flows
 * through it in the same instant instead of at the next stream open. The relay and the link proxy
 * listen, and so does every open live-updates subscription (members, API keys and sessions
 * authenticate once, when the stream opens, so only this notice can end it). With several hubs the hub's cluster bus wraps this one: a publish is
 * delivered here first, then to the other hubs through Redis.
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
