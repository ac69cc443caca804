import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * How one hub proves to another that it holds CLUSTER_SECRET when it dials a peer connection:
 * an Authorization header `PC-Cluster v1:<from>:<to>:<unix ms>:<nonce>:<signature>`, the
 * signature an HMAC-SHA256 over all of the rest. The target hub's id is signed, so a header
 * captured on its way to one hub is worthless at another; the timestamp and the nonce make a
 * replayed header fail too.
 */
export const PEER_AUTH_SCHEME = "PC-Cluster";
const VERSION = "v1";
const SIGNING_CONTEXT = "private-connect peer connection v1";

/** How far the peer's clock may be from ours. */
export const PEER_CLOCK_TOLERANCE_MS = 30_000;
/**
 * How long a nonce is remembered: a header is accepted only within the clock tolerance either
 * side of its timestamp, so it can be presented for at most twice that after it was first seen.
 */
export const PEER_NONCE_MEMORY_MS = 2 * PEER_CLOCK_TOLERANCE_MS;
const NONCE_BYTES = 16;
/** Hub ids are 1-64 letters, digits, `_ . -` (HUB_ID): the separator cannot appear in one. */
const HUB_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const HEADER = /^PC-Cluster v1:([A-Za-z0-9_.-]{1,64}):([A-Za-z0-9_.-]{1,64}):(\d{1,15}):([0-9a-f]{32}):([A-Za-z0-9_-]{43})$/;

export interface PeerSignature {
  fromHubId: string;
  toHubId: string;
  clusterSecret: string;
  now: number;
}

export type PeerVerification = { ok: true; fromHubId: string } | { ok: false; reason: string };

function sign(clusterSecret: string, fromHubId: string, toHubId: string, timestamp: string, nonce: string): Buffer {
  return createHmac("sha256", clusterSecret)
    .update(`${SIGNING_CONTEXT}\n${fromHubId}\n${toHubId}\n${timestamp}\n${nonce}`)
    .digest();
}

/** The Authorization header value for one dial of `toHubId`. Each call has a fresh nonce. */
export function signPeerRequest({ fromHubId, toHubId, clusterSecret, now }: PeerSignature): string {
  if (!HUB_ID.test(fromHubId) || !HUB_ID.test(toHubId)) throw new RangeError("hub ids are 1-64 letters, digits or _ . -");
  const timestamp = String(Math.floor(now));
  const nonce = randomBytes(NONCE_BYTES).toString("hex");
  const signature = sign(clusterSecret, fromHubId, toHubId, timestamp, nonce).toString("base64url");
  return `${PEER_AUTH_SCHEME} ${VERSION}:${fromHubId}:${toHubId}:${timestamp}:${nonce}:${signature}`;
}

/**
 * Nonces of accepted peer headers, each kept for PEER_NONCE_MEMORY_MS. Only headers with a valid
 * signature get here, so only a holder of the cluster secret can fill it; when it is full anyway
 * new dials are refused until old nonces expire, never let through unrecorded.
 */
export class SeenNonces {
  /** Insertion order is time order, so expired nonces are always at the front. */
  private readonly expiries = new Map<string, number>();

  constructor(private readonly maxEntries: number = 100_000) {}

  get size(): number {
    return this.expiries.size;
  }

  /** Records `nonce` unless it was seen within the memory (a replay) or there is no room left. */
  remember(nonce: string, now: number): "new" | "replayed" | "full" {
    for (const [seen, expiresAt] of this.expiries) {
      if (expiresAt > now) break;
      this.expiries.delete(seen);
    }
    if (this.expiries.has(nonce)) return "replayed";
    if (this.expiries.size >= this.maxEntries) return "full";
    this.expiries.set(nonce, now + PEER_NONCE_MEMORY_MS);
    return "new";
  }
}

export interface PeerVerifyOptions {
  selfHubId: string;
  clusterSecret: string;
  now: number;
  seenNonces: SeenNonces;
}

/**
 * Checks a peer's Authorization header. The reasons are for the refusal and the log on both
 * hubs: they name what to fix, never anything secret.
 */
export function verifyPeerRequest(header: string | undefined, options: PeerVerifyOptions): PeerVerification {
  if (header === undefined || header === "") return { ok: false, reason: "Missing cluster credentials" };
  const match = HEADER.exec(header);
  if (!match) return { ok: false, reason: "Malformed cluster credentials: is the other hub running the same version?" };
  const [, fromHubId = "", toHubId = "", timestamp = "", nonce = "", signature = ""] = match;
  if (toHubId !== options.selfHubId) {
    return { ok: false, reason: `This is hub ${options.selfHubId}, not ${toHubId}: the cluster's record of it is stale` };
  }
  if (fromHubId === options.selfHubId) {
    return { ok: false, reason: `The dialing hub has this hub's own id ${fromHubId}: give every hub its own HUB_ID` };
  }
  const expected = sign(options.clusterSecret, fromHubId, toHubId, timestamp, nonce);
  const presented = Buffer.from(signature, "base64url");
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return { ok: false, reason: `Hub ${fromHubId} signed with another CLUSTER_SECRET: give every hub the same one` };
  }
  const skew = Number(timestamp) - options.now;
  if (Math.abs(skew) > PEER_CLOCK_TOLERANCE_MS) {
    return {
      ok: false,
      reason: `Hub ${fromHubId}'s clock is ${Math.round(skew / 1000)} s off this hub's (at most ${PEER_CLOCK_TOLERANCE_MS / 1000} s): synchronize the clocks (NTP)`,
    };
  }
  const seen = options.seenNonces.remember(nonce, options.now);
  if (seen === "replayed") return { ok: false, reason: "These cluster credentials were used before (a replay)" };
  if (seen === "full") return { ok: false, reason: "Too many peer connections in the last minute: try again shortly" };
  return { ok: true, fromHubId };
}
