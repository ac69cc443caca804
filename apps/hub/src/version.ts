import { readPackageVersion } from "@private-connect/protocol";

/**
 * This hub's version, as `connect-hub --version` prints it and the relay tells agents. src/ and
 * dist/ both sit one level under the package root, in the repository and in the tarball.
 */
export const HUB_VERSION = readPackageVersion(new URL("../package.json", import.meta.url), "@private-connect/hub");
