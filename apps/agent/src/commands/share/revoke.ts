import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import { ConnectError } from "../../errors.js";
import type { HubClient } from "../../sdk/hub-client.js";

/** What `shares.revoke` answers. */
export type RevokedShare = Awaited<ReturnType<HubClient["shares"]["revoke"]["mutate"]>>;

export default class ShareRevoke extends BaseCommand<typeof ShareRevoke> {
  static override summary = "revoke a share by its code or id: its open connections are cut";
  static override description =
    "The code stops working at once for everyone who joined it, and every stream open through the share is reset. Give the code as connect share printed it, or the id connect share list shows (the code itself is never shown again).";
  static override enableJsonFlag = true;
  static override args = {
    share: Args.string({ description: "the share's code or id, for example K7QX-9MZP-R2TW-4HNC", required: true }),
  };
  static override examples = [
    "<%= config.bin %> share revoke K7QX-9MZP-R2TW-4HNC",
    "<%= config.bin %> share revoke 3f2a8c1e-0b7d-4c55-9a61-2f0e9d4b7a10 --json",
  ];

  async run(): Promise<RevokedShare> {
    const revoked = await this.callHubAsAgent((client) => revokeShare(client, this.args.share));
    this.report(describeRevokedShare(revoked));
    return revoked;
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Revokes the share a code or an id names (ids are what `share list` shows). */
export function revokeShare(client: HubClient, codeOrId: string): Promise<RevokedShare> {
  const target = codeOrId.trim();
  if (target === "") {
    throw new ConnectError(
      "INVALID_INPUT",
      "Give the share's code or id, for example connect share revoke K7QX-9MZP-R2TW-4HNC (connect share list shows the ids)",
    );
  }
  return client.shares.revoke.mutate(UUID_PATTERN.test(target) ? { id: target } : { code: target });
}

export function describeRevokedShare(revoked: RevokedShare): string {
  return `Revoked share ${revoked.name}: its open connections were cut and the code no longer works`;
}
