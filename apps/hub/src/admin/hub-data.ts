import { access } from "node:fs/promises";
import { join, resolve } from "node:path";

/**
 * Whether `dataDir` holds a hub's embedded database: PGlite's cluster in `<dataDir>/pglite` (see
 * openHubDatabase in hub.ts), which initdb marks with PG_VERSION on the first start. Not
 * secrets.json: a hub given JWT_SECRET and ENCRYPTION_KEY never writes it, and `workspace create
 * --init` makes only the database.
 */
export async function hasHubData(dataDir: string): Promise<boolean> {
  try {
    await access(join(dataDir, "pglite", "PG_VERSION"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Why an operator command refuses to run where no hub's data is: opening the database there would
 * make a new, empty one (run from the wrong directory, `./.data` is somewhere else), and a key made
 * in it is refused by the real hub.
 */
export function describeMissingHubData(dataDir: string, options: { canInit: boolean }): string {
  const init = options.canInit ? "; to start a new hub's data there, add --init" : "";
  return `No hub data in ${resolve(dataDir)}: pass --data DIR (the directory connect-hub start --data uses), or set DATABASE_URL to the hub's PostgreSQL${init}`;
}
