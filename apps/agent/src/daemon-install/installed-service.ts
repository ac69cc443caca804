import { readFile } from "node:fs/promises";
import type { ServiceLocation } from "./daemon-host.js";
import { readPlistConfigDir } from "./launchd-plist.js";
import { readUnitConfigDir } from "./systemd-unit.js";

export interface InstalledService {
  text: string;
  /** The config directory it runs the agent for (undefined: not written by connect daemon install). */
  configDir: string | undefined;
}

/** The unit or plist already at this location, if any. */
export async function readInstalledService(location: ServiceLocation): Promise<InstalledService | undefined> {
  let text: string;
  try {
    text = await readFile(location.path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return { text, configDir: location.manager === "systemd" ? readUnitConfigDir(text) : readPlistConfigDir(text) };
}
