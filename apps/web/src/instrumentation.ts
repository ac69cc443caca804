/**
 * Runs once as `next start` boots. Next.js compiles this file for its edge runtime too, which
 * has no process.exit: the check lives in a module loaded only on Node (NEXT_RUNTIME is how
 * Next.js says which runtime this is; it is not our configuration).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") (await import("./instrumentation-node")).checkEnvironment();
}
