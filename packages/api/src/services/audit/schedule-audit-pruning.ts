import { type Database, pruneAuditEvents } from "@private-connect/db";

/** Retention is counted in days: pruning once a day keeps the log within a day of it. */
export const AUDIT_PRUNE_INTERVAL_MS = 24 * 60 * 60_000;

export interface AuditPruningOptions {
  db: Pick<Database, "prisma">;
  /** AUDIT_RETENTION_DAYS: events older than this many days are deleted. */
  retentionDays: number;
  intervalMs?: number;
  onPruned(count: number): void;
  /** A failed run is reported and tried again at the next interval; it never stops the hub. */
  onError(error: unknown): void;
}

export interface AuditPruning {
  /** Settles when the run made at start has finished (its outcome went to onPruned or onError). */
  firstRun: Promise<void>;
  /** No further runs; resolves once a run in progress has finished, so the database can close. */
  stop(): Promise<void>;
}

/**
 * Prunes the audit log now and then once per interval. The timer is unref'd: pending pruning
 * never keeps a stopping process alive. Runs never overlap.
 */
export function scheduleAuditPruning(options: AuditPruningOptions): AuditPruning {
  let running: Promise<void> | undefined;
  let isStopped = false;
  const run = (): Promise<void> => {
    running = pruneAuditEvents(options.db.prisma, options.retentionDays)
      .then(
        (count) => options.onPruned(count),
        (error: unknown) => options.onError(error),
      )
      .catch((error: unknown) => options.onError(error))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const firstRun = run();
  const timer = setInterval(() => {
    if (!isStopped && running === undefined) void run();
  }, options.intervalMs ?? AUDIT_PRUNE_INTERVAL_MS);
  timer.unref();
  return {
    firstRun,
    async stop() {
      isStopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
