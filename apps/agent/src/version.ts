import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * This agent's version, from its own package.json (what `connect --version` prints too). Read at
 * run time, not compiled in: src/ and dist/ both sit one level under the package root, in the
 * repository and in the installed tarball, which always holds package.json. Sent in every hello
 * so a hub that refuses us can say which agent it refused.
 */
function readAgentVersion(): string {
  const path = fileURLToPath(new URL("../package.json", import.meta.url));
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`Cannot read ${path} (${(error as Error).message}): reinstall @private-connect/agent`);
  }
  const { name, version } = (manifest ?? {}) as { name?: unknown; version?: unknown };
  if (name !== "@private-connect/agent" || typeof version !== "string" || version === "")
    throw new Error(`${path} is not the package.json of @private-connect/agent: reinstall it`);
  return version;
}

export const AGENT_VERSION = readAgentVersion();
