import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { formatHostPort } from "../cli/format.js";
import { ConnectError } from "../errors.js";

export default class Reach extends BaseCommand<typeof Reach> {
  static override summary = "reach a service of your workspace on a local port";
  static override description =
    "The running agent listens on a local port and relays each connection to the service through the hub. The port stays bound until connect reach --stop, and is bound again when the agent restarts.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> reach prod-db --port 15432",
    "<%= config.bin %> reach prod-db --json",
    "<%= config.bin %> reach --stop prod-db",
  ];
  static override args = {
    name: Args.string({ description: "name of the service to reach", required: false }),
  };
  static override flags = {
    port: Flags.integer({
      description: "local port to listen on (default: a free port, printed)",
      min: 0,
      max: 65535,
      helpValue: "N",
    }),
    host: Flags.string({
      description: "local address to listen on; anything but loopback shares the service with your network",
      default: "127.0.0.1",
      helpValue: "ADDRESS",
    }),
    from: Flags.string({ description: "workspace that shared the service with yours", helpValue: "WORKSPACE" }),
    stop: Flags.string({ description: "stop reaching the service with this name", helpValue: "NAME", exclusive: ["port"] }),
  };

  async run(): Promise<{ service: string; host: string; port: number; from?: string } | { service: string; stopped: boolean }> {
    const { name } = this.args;
    const { port, host, from, stop } = this.flags;
    if (stop !== undefined) {
      if (name !== undefined) throw new ConnectError("INVALID_INPUT", "Give either NAME or --stop NAME, not both");
      const { stopped } = await this.control.request(
        "stopReach",
        from === undefined ? { service: stop } : { service: stop, from },
      );
      this.report(`Stopped reaching ${stop}`);
      return { service: stop, stopped };
    }
    if (name === undefined || name.trim() === "") {
      throw new ConnectError("INVALID_INPUT", "Give the service to reach, for example connect reach prod-db --port 15432");
    }
    const reach = await this.control.request("reach", {
      service: name.trim(),
      host,
      ...(port === undefined ? {} : { port }),
      ...(from === undefined ? {} : { from }),
    });
    this.report(`Reaching ${reach.service} on ${formatHostPort(reach.host, reach.port)}`);
    return reach.from === undefined
      ? { service: reach.service, host: reach.host, port: reach.port }
      : { service: reach.service, host: reach.host, port: reach.port, from: reach.from };
  }
}
