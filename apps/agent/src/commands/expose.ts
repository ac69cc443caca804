import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { formatHostPort } from "../cli/format.js";
import { parseHostPort } from "../cli/parse-target.js";
import { type E2ePolicy, type Exposure, e2ePolicySchema } from "../config/state.js";
import { ConnectError } from "../errors.js";

export default class Expose extends BaseCommand<typeof Expose> {
  static override summary = "expose a TCP service on this machine to your workspace under a name";
  static override description =
    "The running agent announces NAME to the hub and relays each stream for it to HOST:PORT on this machine. The exposure is saved and restored when the agent starts again.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> expose localhost:5432 --name prod-db",
    "<%= config.bin %> expose [::1]:6379 --name cache --config ~/.private-connect-server",
    "<%= config.bin %> expose localhost:5432 --name prod-db --e2e required",
    "<%= config.bin %> expose --remove prod-db",
  ];
  static override args = {
    target: Args.string({ description: "HOST:PORT of the service on this machine, for example localhost:5432", required: false }),
  };
  static override flags = {
    name: Flags.string({ description: "service name others reach it by, for example prod-db", helpValue: "NAME" }),
    e2e: Flags.string({
      description:
        "end-to-end encryption between the agents: required (never plaintext; no public links), preferred (whenever the reaching agent can) or off",
      options: ["required", "preferred", "off"],
      default: "preferred",
    }),
    remove: Flags.string({
      description: "stop exposing the service with this name",
      helpValue: "NAME",
      exclusive: ["name"],
    }),
  };

  async run(): Promise<Exposure | { name: string; removed: boolean }> {
    const { target } = this.args;
    const { name, remove, e2e } = this.flags;
    if (remove !== undefined) {
      if (target !== undefined) {
        throw new ConnectError("INVALID_INPUT", `Give either HOST:PORT or --remove NAME, not both`);
      }
      const { removed } = await this.control.request("unexpose", { name: remove });
      this.report(`Stopped exposing ${remove}`);
      return { name: remove, removed };
    }
    if (target === undefined) {
      throw new ConnectError(
        "INVALID_INPUT",
        "Give the service to expose as HOST:PORT, for example connect expose localhost:5432 --name prod-db",
      );
    }
    // Validate everything locally first, so a typo is reported the same with or without an agent.
    const { host, port } = parseHostPort(target);
    if (name === undefined || name.trim() === "") {
      throw new ConnectError("INVALID_INPUT", `Give ${target} a service name with --name, for example --name prod-db`);
    }
    const exposure = await this.control.request("expose", { name: name.trim(), host, port, e2e: parseE2ePolicy(e2e) });
    const encryption = exposure.e2e === "off" ? "" : `, end-to-end encryption ${exposure.e2e ?? "preferred"}`;
    this.report(`Exposing ${exposure.name} -> ${formatHostPort(exposure.host, exposure.port)}${encryption}`);
    return exposure;
  }
}

function parseE2ePolicy(value: string): E2ePolicy {
  const parsed = e2ePolicySchema.safeParse(value);
  if (!parsed.success) throw new ConnectError("INVALID_INPUT", `--e2e takes required, preferred or off, not ${value}`);
  return parsed.data;
}
