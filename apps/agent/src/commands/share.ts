import { Flags, ux } from "@oclif/core";
import type { CreatedShare, ShareView } from "@private-connect/api";
import { BaseCommand } from "../cli/base-command.js";
import { parseDuration } from "../cli/parse-duration.js";
import { ConnectError } from "../errors.js";
import { formatShares, listShares } from "./share/list.js";
import { describeRevokedShare, type RevokedShare, revokeShare } from "./share/revoke.js";

export default class Share extends BaseCommand<typeof Share> {
  static override summary = "share services of this workspace with another workspace through a code";
  static override description =
    "Prints a share code. An agent of another workspace that runs connect join CODE can then reach the shared services by name, until the code expires or you revoke it (connect share revoke CODE). Without --services the share covers the services exposed right now (later ones are not added). Every stream through a share is checked for expiry and revocation when it opens, and revoking resets the open ones at once. connect share list shows this workspace's shares.";
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> share --expires 7d --name "acme-contractor"',
    "<%= config.bin %> share --name staging --services prod-db,redis --rate-limit 100",
  ];
  static override flags = {
    name: Flags.string({ description: "what to call the share in lists and audit logs", helpValue: "NAME" }),
    expires: Flags.string({ description: "how long the code works: 90m, 12h, 7d, 2w", default: "7d", helpValue: "DURATION" }),
    services: Flags.string({
      description: "comma-separated service names to share (default: every service exposed now)",
      helpValue: "A,B",
    }),
    "rate-limit": Flags.integer({ description: "new connections per minute through the share", helpValue: "N", min: 1 }),
    // The forms before `share list` and `share revoke`: kept working (with a hint), out of help.
    list: Flags.boolean({
      description: "deprecated: use connect share list",
      hidden: true,
      exclusive: ["revoke", "name", "services", "rate-limit"],
    }),
    revoke: Flags.string({
      description: "deprecated: use connect share revoke CODE|ID",
      hidden: true,
      exclusive: ["list", "name", "services", "rate-limit"],
    }),
  };

  async run(): Promise<CreatedShare | ShareView[] | RevokedShare> {
    const { flags } = this;
    if (flags.list) {
      // On stderr even under --json (logToStderr would drop it): scripts keep old forms longest.
      ux.stderr("Warning: connect share --list is deprecated: use connect share list");
      const shares = await this.callHubAsAgent(listShares);
      if (!this.jsonEnabled()) this.log(formatShares(shares));
      return shares;
    }
    if (flags.revoke !== undefined) {
      ux.stderr("Warning: connect share --revoke is deprecated: use connect share revoke CODE|ID");
      const target = flags.revoke;
      const revoked = await this.callHubAsAgent((client) => revokeShare(client, target));
      this.report(describeRevokedShare(revoked));
      return revoked;
    }
    const name = flags.name?.trim() || `share-${new Date().toISOString().slice(0, 10)}`;
    const expiresInSeconds = parseDuration(flags.expires, "--expires");
    const services = flags.services === undefined ? undefined : parseServiceList(flags.services);
    const created = await this.callHubAsAgent((client) =>
      client.shares.create.mutate({
        name,
        expiresInSeconds,
        ...(services === undefined ? {} : { services }),
        ...(flags["rate-limit"] === undefined ? {} : { rateLimitPerMinute: flags["rate-limit"] }),
      }),
    );
    this.report([
      `Share code: ${created.code}`,
      `Share ${created.name}: ${created.services.join(", ")}, until ${created.expiresAt}${
        created.rateLimitPerMinute === null ? "" : `, at most ${created.rateLimitPerMinute} new connections per minute`
      }`,
      "The code is shown only once. The other side runs: connect join <code> (revoke it with connect share revoke <code>)",
    ]);
    return created;
  }
}

function parseServiceList(text: string): string[] {
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) {
    throw new ConnectError(
      "INVALID_INPUT",
      "--services takes comma-separated service names, for example --services prod-db,redis",
    );
  }
  return names;
}
