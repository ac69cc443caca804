import type { LinkAccess, ResolvedLink } from "@private-connect/api";
import type { Logger } from "pino";

/** The link an access is recorded against: enough of it for a refusal too, before the link was fully read. */
export type LinkSummary = Pick<ResolvedLink, "id" | "workspaceId" | "serviceName" | "slugHint">;

/** One access as the proxy saw it; the link's fields and the time are added here. */
export type AccessRecord = Omit<LinkAccess, "linkId" | "workspaceId" | "serviceName" | "slugHint" | "at">;

export interface AccessRecords {
  /** Records one access in the background: never waits, never throws. */
  record(link: LinkSummary, access: AccessRecord): void;
}

const AUDIT_PATH_MAX = 512;
/** Dropped records are logged at the first and then every this many, not once each. */
const DROPPED_LOG_EVERY = 1_000;

/** The path a refused request is recorded under: no query string, bounded length. */
export function auditPath(target: string): string {
  return (target.split("?")[0] ?? "/").slice(0, AUDIT_PATH_MAX);
}

/**
 * Writes link accesses (recordLinkAccess) with at most `maxPending` writes at once. Past it a
 * record is dropped and counted in the log: a flood of requests must not queue unbounded database
 * writes behind it.
 */
export function createAccessRecords(options: {
  write(access: LinkAccess): Promise<void>;
  log: Logger;
  maxPending: number;
}): AccessRecords {
  const { write, log, maxPending } = options;
  let pending = 0;
  let dropped = 0;
  return {
    record(link, access) {
      if (pending >= maxPending) {
        dropped++;
        if (dropped === 1 || dropped % DROPPED_LOG_EVERY === 0) {
          log.warn({ dropped }, "link access records dropped: the database is not keeping up");
        }
        return;
      }
      pending++;
      const entry: LinkAccess = {
        ...access,
        linkId: link.id,
        workspaceId: link.workspaceId,
        serviceName: link.serviceName,
        slugHint: link.slugHint,
        at: new Date(),
      };
      write(entry)
        .catch((error: unknown) => log.warn({ linkId: link.id, err: String(error) }, "could not record a link access"))
        .finally(() => {
          pending--;
        });
    },
  };
}
