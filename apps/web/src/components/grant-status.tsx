import { formatRelative, formatTime } from "@/lib/format";

const STATUS_BADGE = { active: "badge-ok", expired: "badge-off", revoked: "badge-error" } as const;

/**
 * The state of something that grants access for a while (a share, a public link): a badge, and
 * when it expires, expired or was revoked, relative to now with the exact time on hover.
 */
export function GrantStatus({
  status,
  expiresAt,
  revokedAt,
  now,
}: {
  status: keyof typeof STATUS_BADGE;
  expiresAt: string;
  revokedAt: string | null;
  now: number;
}) {
  return (
    <>
      <span className={`badge ${STATUS_BADGE[status]}`}>{status}</span>{" "}
      <span className="hint" title={formatTime(expiresAt)}>
        {status === "revoked" && revokedAt !== null
          ? `revoked ${formatRelative(revokedAt, now)}`
          : `${status === "expired" ? "expired" : "expires"} ${formatRelative(expiresAt, now)}`}
      </span>
    </>
  );
}
