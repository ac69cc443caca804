import { PUBLIC_LINK_EXPIRED, PUBLIC_LINK_NOT_FOUND, type ResolvedLink, type Revocations } from "@private-connect/api";
import type { Logger } from "pino";

/** Why a request in flight is cut. */
export type Cut = "revoked" | "expired";

/** What a cut request's visitor and service are told. */
export const CUT_ANSWERS: Record<Cut, { status: number; message: string; resetReason: string }> = {
  revoked: { status: 404, message: PUBLIC_LINK_NOT_FOUND, resetReason: "The link was revoked" },
  expired: { status: 410, message: PUBLIC_LINK_EXPIRED, resetReason: "The link expired" },
};

export interface LinkCuts {
  /**
   * Registers a request (or WebSocket) in flight on a link: `cut` runs at most once, when the
   * link is revoked or reaches its expiry. Returns the function that forgets the request.
   */
  track(link: Pick<ResolvedLink, "id" | "expiresAt">, cut: (why: Cut) => void): () => void;
  /** Stops listening for revocations; requests in flight are left to the server's own shutdown. */
  close(): void;
}

/** A request that read its link just before a revocation committed is still caught for this long. */
const REVOKED_MEMORY_MS = 10 * 60_000;
const MAX_REMEMBERED_REVOCATIONS = 10_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Cuts a link's requests in flight when it is revoked (heard on `revocations`) or expires (a
 * timer per request). Revocations are remembered for a while, bounded in count, because a request
 * admitted on a read of the link from just before the revocation starts being tracked after the
 * notice went by.
 */
export function createLinkCuts(options: { revocations: Revocations; log: Logger; now: () => number }): LinkCuts {
  const { log, now } = options;
  const inFlight = new Map<string, Set<(why: Cut) => void>>();
  // Insertion order is revocation order, so the oldest are at the front when trimming.
  const revokedAt = new Map<string, number>();

  const stopListening = options.revocations.subscribe((revocation) => {
    if (revocation.kind !== "link") return;
    revokedAt.delete(revocation.linkId);
    revokedAt.set(revocation.linkId, now());
    for (const [linkId, at] of revokedAt) {
      if (revokedAt.size <= MAX_REMEMBERED_REVOCATIONS && at > now() - REVOKED_MEMORY_MS) break;
      revokedAt.delete(linkId);
    }
    const cuts = inFlight.get(revocation.linkId);
    if (cuts === undefined) return;
    log.info({ linkId: revocation.linkId, requests: cuts.size }, "cutting the requests of a revoked link");
    for (const cut of [...cuts]) cut("revoked");
  });

  return {
    track(link, cut) {
      let cuts = inFlight.get(link.id);
      if (cuts === undefined) {
        cuts = new Set();
        inFlight.set(link.id, cuts);
      }
      let isCut = false;
      const once = (why: Cut) => {
        if (isCut) return;
        isCut = true;
        forget();
        cut(why);
      };
      cuts.add(once);
      let expiry: NodeJS.Timeout | undefined;
      // Timers cap at ~24.8 days, so a longer wait hops until the link's expiry is really there.
      const armExpiry = () => {
        const untilExpiry = link.expiresAt.getTime() - now();
        if (untilExpiry <= 0) {
          once("expired");
          return;
        }
        expiry = setTimeout(armExpiry, Math.min(untilExpiry, MAX_TIMER_MS));
        expiry.unref();
      };
      function forget(): void {
        clearTimeout(expiry);
        cuts?.delete(once);
        if (cuts?.size === 0) inFlight.delete(link.id);
      }
      // Revoked between our read of the link and now: the notice went by before we listened.
      if (revokedAt.has(link.id)) queueMicrotask(() => once("revoked"));
      else expiry = setTimeout(armExpiry, 0);
      return forget;
    },

    close() {
      stopListening();
    },
  };
}
