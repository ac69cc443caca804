import { Flags } from "@oclif/core";
import type { CreatedShare, ShareView } from "@private-connect/api";
import { BaseCommand } from "../cli/base-command.js";
import { formatTable } from "../cli/format-table.js";
import { parseDuration } from "../cli/parse-duration.js";
import { ConnectError } from "../errors.js";

export default class Share extends BaseCommand<typeof Share> {
  static override summary = "share services of this workspace with another workspace through a code";
  static override description =
    "Prints a share code. An agent of another workspace that runs connect join CODE can then reach the shared services by name, until the code expires or you revoke it. Without --services the share covers the services exposed right now (later ones are not added). Every stream through a share is checked for expiry and revocation when it opens, and revoking resets the open ones at once.";
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> share --expires 7d --name "acme-contractor"',
    "<%= config.bin %> share --name staging --services prod-db,redis --rate-limit 100",
    "<%= config.bin %> share --list",
    "<%= config.bin %> share --revoke K7QX-9MZP-R2TW-4HNC",
  ];
  static override flags = {
    name: Flags.string({ description: "what to call the share in lists and audit logs", helpValue: "NAME" }),
    expires: Flags.string({ description: "how long the code works: 90m, 12h, 7d, 2w", default: "7d", helpValue: "DURATION" }),
    services: Flags.string({
      description: "comma-separated service names to share (default: every service exposed now)",
      helpValue: "A,B",
    }),
    "rate-limit": Flags.integer({ description: "new connections per minute through the share", helpValue: "N", min: 1 }),
    list: Flags.boolean({ description: "list this workspace's shares", exclusive: ["revoke", "name", "services", "rate-limit"] }),
    revoke: Flags.string({
      description: "revoke a share by its code or id; its open connections are cut",
      helpValue: "CODE",
      exclusive: ["list", "name", "services", "rate-limit"],
    }),
  };

  async run(): Promise<CreatedShare | ShareView[] | { id: string; name: string; revokedAt: string }> {
    const { flags } = this;
    if (flags.list) {
      const shares = await this.callHubAsAgent((client) => client.shares.list.query());
      if (!this.jsonEnabled()) this.log(formatShares(shares));
      return shares;
    }
    if (flags.revoke !== undefined) {
      const target = flags.revoke.trim();
      const input = UUID_PATTERN.test(target) ? { id: target } : { code: target };
      const revoked = await this.callHubAsAgent((client) => client.shares.revoke.mutate(input));
      this.report(`Revoked share ${revoked.name}: its open connections were cut and the code no longer works`);
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
      "The code is shown only once. The other side runs: connect join <code>",
    ]);
    return created;
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

function formatShares(shares: ShareView[]): string {
  if (shares.length === 0) return "No shares yet: create one with connect share --name NAME --expires 7d";
  return formatTable(
    ["Name", "Code", "Status", "Expires", "Services", "Joiners", "Uses", "Id"],
    shares.map((share) => [
      share.name,
      // Codes from before keyed hashes keep no hint (any part of a 60-bit code leaves too little).
      share.codeHint === "" ? "…" : `${share.codeHint}-…`,
      share.status,
      share.expiresAt,
      share.services.join(","),
      share.joiners.length === 0 ? "-" : share.joiners.map((joiner) => `${joiner.agentLabel} (${joiner.useCount})`).join(", "),
      String(share.useCount),
      share.id,
    ]),
  );
}
