import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * `version` from the package.json at `packageJsonUrl`, which must be `expectedName`'s. The hub and
 * the agent read theirs at run time rather than compile it in, so it is the version of what is
 * installed (the repository, or a tarball, which always holds package.json), and tell it to each
 * other in the hello so a refusal can name both. The name is checked so a file moved elsewhere
 * cannot quietly report some other package's version.
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
