import type { ShareView } from "@private-connect/api";
import { BaseCommand } from "../../cli/base-command.js";
import { formatTable } from "../../cli/format-table.js";
import type { HubClient } from "../../sdk/hub-client.js";

export default class ShareList extends BaseCommand<typeof ShareList> {
  static override summary = "list this workspace's shares: status, expiry, services and who joined";
  static override description =
    "Reads the shares of this agent's workspace from the hub. A code is never shown again after connect share printed it: the list keeps its first group as a hint, and its id. Revoke one with connect share revoke CODE|ID.";
  static override enableJsonFlag = true;
  static override examples = ["<%= config.bin %> share list", "<%= config.bin %> share list --json"];

  async run(): Promise<ShareView[]> {
    const shares = await this.callHubAsAgent(listShares);
    if (!this.jsonEnabled()) this.log(formatShares(shares));
    return shares;
  }
}

/** What `connect share list` (and the deprecated `share --list`) asks the hub. */
export function listShares(client: HubClient): Promise<ShareView[]> {
  return client.shares.list.query();
}

export function formatShares(shares: ShareView[]): string {
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
