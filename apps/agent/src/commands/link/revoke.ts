import { Args } from "@oclif/core";
import type { RevokedLink } from "@private-connect/api";
import { BaseCommand } from "../../cli/base-command.js";
import { ConnectError } from "../../errors.js";
import type { HubClient } from "../../sdk/hub-client.js";
import { linkRevocationInput } from "../../sdk/links.js";

export default class LinkRevoke extends BaseCommand<typeof LinkRevoke> {
  static override summary = "revoke a public link by its URL, slug or id: requests in flight are cut";
  static override description =
    "The hub answers the link's URL with 404 from then on and cuts its responses and WebSockets in flight. Give the URL as connect link printed it, its slug, or the id connect link list shows (the URL itself is never shown again).";
  static override enableJsonFlag = true;
  static override args = {
    link: Args.string({ description: "the link's URL, slug or id", required: true }),
  };
  static override examples = [
    "<%= config.bin %> link revoke https://k7qxa2mzvd4npt6lhb3eyw5rjq.links.example.com/",
    "<%= config.bin %> link revoke 3f2a8c1e-0b7d-4c55-9a61-2f0e9d4b7a10 --json",
  ];

  async run(): Promise<RevokedLink> {
    const revoked = await this.callHubAsAgent((client) => revokeLink(client, this.args.link));
    this.report(describeRevokedLink(revoked));
    return revoked;
  }
}

/** Revokes the link a URL, slug or id names (ids are what `link list` shows). */
export function revokeLink(client: HubClient, urlSlugOrId: string): Promise<RevokedLink> {
  if (urlSlugOrId.trim() === "") {
    throw new ConnectError(
      "INVALID_INPUT",
      "Give the link's URL, slug or id, for example connect link revoke https://k7qx….links.example.com/ (connect link list shows the ids)",
    );
  }
  return client.links.revoke.mutate(linkRevocationInput(urlSlugOrId));
}

export function describeRevokedLink(revoked: RevokedLink): string {
  return `Revoked the link to ${revoked.service} (${revoked.slugHint}…): requests in flight were cut, new ones get 404`;
}
