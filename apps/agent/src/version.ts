import { readPackageVersion } from "@private-connect/protocol";

/**
 * This agent's version (what `connect --version` prints too), sent in every hello so a hub that
 * refuses us can say which agent it refused. src/ and dist/ both sit one level under the package
 * root, in the repository and in the tarball.
 */
export const AGENT_VERSION = readPackageVersion(new URL("../package.json", import.meta.url), "@private-connect/agent");
