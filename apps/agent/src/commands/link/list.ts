import type { LinkView } from "@private-connect/api";
import { BaseCommand } from "../../cli/base-command.js";
import { formatTable } from "../../cli/format-table.js";
import type { HubClient } from "../../sdk/hub-client.js";

export default class LinkList extends BaseCommand<typeof LinkList> {
  static override summary = "list this workspace's public links: restrictions, status and accesses";
  static override description =
    "Reads the links of this agent's workspace from the hub, newest first. A URL is never shown again after connect link printed it: the list keeps the start of its slug as a hint, and its id. Revoke one with connect link revoke URL|SLUG|ID.";
  static override enableJsonFlag = true;
  static override examples = ["<%= config.bin %> link list", "<%= config.bin %> link list --json"];

  async run(): Promise<LinkView[]> {
    const links = await this.callHubAsAgent(listLinks);
    if (!this.jsonEnabled()) this.log(formatLinks(links));
    return links;
  }
}

/** What `connect link list` (and the deprecated `link --list`) asks the hub. */
export function listLinks(client: HubClient): Promise<LinkView[]> {
  return client.links.list.query();
}

export function formatLinks(links: LinkView[]): string {
  if (links.length === 0) return "No links yet: create one with connect link SERVICE --expires 7d";
  return formatTable(
    ["Service", "Slug", "Status", "Expires", "Methods", "Paths", "Rate/min", "Accesses", "Last access", "Id"],
    links.map((link) => [
      link.service,
      `${link.slugHint}…`,
      link.status,
      link.expiresAt,
      link.methods.length === 0 ? "any" : link.methods.join(","),
      link.paths.length === 0 ? "any" : link.paths.join(","),
      link.rateLimitPerMinute === null ? "-" : String(link.rateLimitPerMinute),
      String(link.accessCount),
      link.lastAccessAt ?? "-",
      link.id,
    ]),
  );
}
