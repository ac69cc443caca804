import { readWebEnv } from "@/env";

/**
 * A bad variable stops the dashboard at start with a message naming it, rather than failing
 * every request later (Next.js only logs a failing hook and serves on).
 */
export function checkEnvironment(): void {
  try {
    readWebEnv();
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
