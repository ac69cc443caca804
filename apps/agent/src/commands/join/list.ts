import type { JoinedShareView } from "@private-connect/api";
import { BaseCommand } from "../../cli/base-command.js";
import { formatTable } from "../../cli/format-table.js";
import type { HubClient } from "../../sdk/hub-client.js";

export default class JoinList extends BaseCommand<typeof JoinList> {
  static override summary = "list the shares this agent joined: who shares them, status, expiry and services";
  static override description =
    "Joining is per agent: this lists what the agent of this config directory joined with connect join CODE, expired and revoked shares included (their services are no longer reachable). Only the sharing workspace can end a share (connect share revoke on its side).";
  static override enableJsonFlag = true;
  static override examples = ["<%= config.bin %> join list", "<%= config.bin %> join list --json"];

  async run(): Promise<JoinedShareView[]> {
    const joined = await this.callHubAsAgent(listJoinedShares);
    if (!this.jsonEnabled()) this.log(formatJoined(joined));
    return joined;
  }
}

/** What `connect join list` (and the deprecated `join --list`) asks the hub. */
export function listJoinedShares(client: HubClient): Promise<JoinedShareView[]> {
  return client.shares.joined.query();
}

export function formatJoined(joined: JoinedShareView[]): string {
  if (joined.length === 0) return "This agent has joined no shares: run connect join CODE";
  return formatTable(
    ["From", "Share", "Status", "Expires", "Services"],
    joined.map((share) => [share.from, share.shareName, share.status, share.expiresAt, share.services.join(",")]),
  );
}
