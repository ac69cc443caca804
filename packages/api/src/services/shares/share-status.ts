/** Whether a share still grants anything at `now`. */
export function getShareStatus(share: { expiresAt: Date; revokedAt: Date | null }, now: Date): "active" | "expired" | "revoked" {
  if (share.revokedAt !== null) return "revoked";
  return share.expiresAt.getTime() > now.getTime() ? "active" : "expired";
}
