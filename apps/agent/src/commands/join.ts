import { Args, Flags, ux } from "@oclif/core";
import type { JoinedShareView } from "@private-connect/api";
import { BaseCommand } from "../cli/base-command.js";
import { ConnectError } from "../errors.js";
import { formatJoined, listJoinedShares } from "./join/list.js";

export default class Join extends BaseCommand<typeof Join> {
  static override summary = "join another workspace's share with its code";
  static override description =
    "Grants this agent the services of the share: reach them with connect reach NAME. When one of your own services has the same name, yours wins; add --from WORKSPACE (the sharing workspace, as printed here) to reach the shared one. connect join list shows what this agent joined.";
  static override enableJsonFlag = true;
  static override examples = ["<%= config.bin %> join K7QX-9MZP-R2TW-4HNC", "<%= config.bin %> join K7QX-9MZP-R2TW-4HNC --json"];
  static override args = {
    code: Args.string({ description: "the share code you were given, for example K7QX-9MZP-R2TW-4HNC", required: false }),
  };
  static override flags = {
    // The form before `join list`: kept working (with a hint), out of help.
    list: Flags.boolean({ description: "deprecated: use connect join list", hidden: true }),
  };

  async run(): Promise<JoinedShareView | JoinedShareView[]> {
    if (this.flags.list) {
      // On stderr even under --json (logToStderr would drop it): scripts keep old forms longest.
      ux.stderr("Warning: connect join --list is deprecated: use connect join list");
      const joined = await this.callHubAsAgent(listJoinedShares);
      if (!this.jsonEnabled()) this.log(formatJoined(joined));
      return joined;
    }
    const code = this.args.code?.trim();
    if (code === undefined || code === "") {
      throw new ConnectError(
        "INVALID_INPUT",
        "Give the share code, for example connect join K7QX-9MZP-R2TW-4HNC (connect join list shows the shares this agent joined)",
      );
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
