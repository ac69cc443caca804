import type { Command } from "@oclif/core";
import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { resolveServiceName } from "./agent-service.js";
import { type DaemonHost, detectDaemonHost } from "./daemon-host.js";

/** The flags every `connect daemon` command takes to find its service. */
export const serviceFlags = {
  system: Flags.boolean({
    description: "a system service (/etc/systemd/system, needs sudo) instead of your user's",
    default: false,
  }),
  name: Flags.string({
    description:
      "suffix of the service name, private-connect-agent-NAME (default: from the config directory, none for ~/.private-connect)",
    helpValue: "NAME",
  }),
};

/** `connect daemon *`: the machine they act on comes from one method, which tests replace. */
export abstract class DaemonCommand<T extends typeof Command> extends BaseCommand<T> {
  protected createHost(): DaemonHost {
    return detectDaemonHost({ sudoUser: this.env.sudoUser });
  }

  protected resolveServiceName(host: DaemonHost, requested: string | undefined): string {
    return resolveServiceName({ configDir: this.paths.dir, homeDir: host.homeDir, requested });
  }
}
