import { readWebEnv } from "@/env";
import { isPeerStamped } from "@/lib/server/hub-proxy";

/**
 * A bad variable stops the dashboard at start with a message naming it, rather than failing
 * every request later (Next.js only logs a failing hook and serves on). A dashboard that cannot
 * pass its visitors' addresses on still serves, but says why sign-in limits will be shared.
 */
export function checkEnvironment(): void {
  let env: ReturnType<typeof readWebEnv>;
  try {
    env = readWebEnv();
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  if (!isPeerStamped()) {
    console.warn(
      "Warning: the dashboard was started without apps/web/server.mjs (npm start, or node server.mjs): it cannot tell the hub its visitors' addresses, so they share one sign-in limit",
    );
  } else if (env.FRONT_END_SECRET === undefined) {
    console.warn(
      "Warning: FRONT_END_SECRET is not set: unless the hub lists this dashboard in its TRUST_PROXY, it counts every visitor as the dashboard's own address (one sign-in limit for all); set it to the hub's FRONT_END_SECRET or the contents of its <data>/front-end-secret",
    );
  }
}
