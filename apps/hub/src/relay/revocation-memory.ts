/** How long the relay itself remembers a revocation; the database refuses the token for good. */
const RECENT_REVOCATION_MS = 60_000;

/**
 * Agents revoked in the last minute, by id: an upgrade or a stream open whose authorization was
 * already in flight when the revocation arrived must not slip through on a stale answer. After
 * that the database's own refusal (revoked_at) covers everything new.
 */
export class RevocationMemory {
  private readonly recent = new Map<string, { at: number; reason: string }>();

  remember(agentId: string, reason: string, now = Date.now()): void {
    this.recent.set(agentId, { at: now, reason });
  }

  /** Why the agent was revoked, when that was in the last minute. */
  reasonFor(agentId: string): string | undefined {
    return this.recent.get(agentId)?.reason;
  }

  has(agentId: string): boolean {
    return this.recent.has(agentId);
  }

  forgetOld(now = Date.now()): void {
    for (const [agentId, revocation] of this.recent) {
      if (now - revocation.at > RECENT_REVOCATION_MS) this.recent.delete(agentId);
    }
  }
}
