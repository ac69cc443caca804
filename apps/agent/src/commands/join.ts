import { Args, Flags } from "@oclif/core";
import type { JoinedShareView } from "@private-connect/api";
import { BaseCommand } from "../cli/base-command.js";
import { formatTable } from "../cli/format-table.js";
import { ConnectError } from "../errors.js";

export default class Join extends BaseCommand<typeof Join> {
  static override summary = "join another workspace's share with its code";
  static override description =
    "Grants this agent the services of the share: reach them with connect reach NAME. When one of your own services has the same name, yours wins; add --from WORKSPACE (the sharing workspace, as printed here) to reach the shared one.";
  static override enableJsonFlag = true;
  static override examples = ["<%= config.bin %> join K7QX-9MZP-R2TW-4HNC", "<%= config.bin %> join --list"];
  static override args = {
    code: Args.string({ description: "the share code you were given, for example K7QX-9MZP-R2TW-4HNC", required: false }),
  };
  static override flags = {
    list: Flags.boolean({ description: "list the shares this agent joined" }),
  };

  async run(): Promise<JoinedShareView | JoinedShareView[]> {
    if (this.flags.list) {
      const joined = await this.callHubAsAgent((client) => client.shares.joined.query());
      if (!this.jsonEnabled()) this.log(formatJoined(joined));
      return joined;
    }
    const code = this.args.code?.trim();
    if (code === undefined || code === "") {
      throw new ConnectError("INVALID_INPUT", "Give the share code, for example connect join K7QX-9MZP-R2TW-4HNC");
    }
    const joined = await this.callHubAsAgent((client) => client.shares.join.mutate({ code }));
    const first = joined.services[0] ?? "NAME";
    // The share's name is the other workspace's text: report escapes it, line by line.
    this.report([
      `Joined share ${joined.shareName} from ${joined.from}: ${joined.services.join(", ")} until ${joined.expiresAt}`,
      `Reach a service with connect reach ${first} (or connect reach ${first} --from ${joined.from} if you expose a ${first} yourself)`,
    ]);
    return joined;
  }
}

function formatJoined(joined: JoinedShareView[]): string {
  if (joined.length === 0) return "This agent has joined no shares: run connect join CODE";
  return formatTable(
    ["From", "Share", "Status", "Expires", "Services"],
    joined.map((share) => [share.from, share.shareName, share.status, share.expiresAt, share.services.join(",")]),
  );
}
