import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Reads `version` from the package.json one level above this module. Read at run time rather
 * than compiled in, so it is the version of what is installed: src/version.ts (tests) and
 * dist/version.js (the hub, in the repository or unpacked from its tarball, which always holds
 * package.json) both sit one level under the package root. The name is checked so a file moved
 * elsewhere cannot quietly report some other package's version.
 */
export function readPackageVersion(packageJsonUrl: URL, expectedName: string): string {
  const path = fileURLToPath(packageJsonUrl);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`Cannot read ${path} (${(error as Error).message}): reinstall ${expectedName}`);
  }
  const { name, version } = (manifest ?? {}) as { name?: unknown; version?: unknown };
  if (name !== expectedName || typeof version !== "string" || version === "")
    throw new Error(`${path} is not the package.json of ${expectedName}: reinstall ${expectedName}`);
  return version;
}

/** This hub's version, as `connect-hub --version` prints it and the relay tells agents. */
export const HUB_VERSION = readPackageVersion(new URL("../package.json", import.meta.url), "@private-connect/hub");
