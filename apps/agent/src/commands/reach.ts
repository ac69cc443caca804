import { Args, Flags, ux } from "@oclif/core";
import { escapeUnprintable } from "@private-connect/protocol";
import { BaseCommand } from "../cli/base-command.js";
import { formatHostPort } from "../cli/format.js";
import { ConnectError, describeError, isConnectError } from "../errors.js";
import type { ReachInfo } from "../sdk/agent.js";
import { findReachableService, listReachableServices, type ServiceListEntry } from "../sdk/services.js";

export default class Reach extends BaseCommand<typeof Reach> {
  static override summary = "reach a service of your workspace on a local port";
  static override description =
    "The running agent listens on a local port and relays each connection to the service through the hub. The port stays bound until connect reach --stop, and is bound again when the agent restarts. When the service is offline now (the agent exposing it is not connected to the hub), the port is bound all the same and a warning says so: connections work once that agent is back. connect services lists what you can reach.";
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

  async run(): Promise<
    { service: string; host: string; port: number; from?: string; online?: boolean } | { service: string; stopped: boolean }
  > {
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
    const service = name.trim();
    let reach: ReachInfo;
    try {
      reach = await this.control.request("reach", {
        service,
        host,
        ...(port === undefined ? {} : { port }),
        ...(from === undefined ? {} : { from }),
      });
    } catch (error) {
      throw explainServiceNotFound(error, service, from);
    }
    this.report(`Reaching ${reach.service} on ${formatHostPort(reach.host, reach.port)}`);
    const online = await this.checkOnline(reach.service, reach.from);
    const result = { service: reach.service, host: reach.host, port: reach.port };
    const withFrom = reach.from === undefined ? result : { ...result, from: reach.from };
    return online === undefined ? withFrom : { ...withFrom, online };
  }

  /**
   * Whether the service has an agent behind it right now, warning on stderr when not: the port is
   * bound and will work once that agent connects, but until then a client only sees its
   * connection closed (psql: "server closed the connection unexpectedly"). Undefined when the hub
   * could not say; the reach itself has succeeded either way.
   */
  private async checkOnline(service: string, from: string | undefined): Promise<boolean | undefined> {
    let found: ServiceListEntry | undefined;
    try {
      const services = await this.callHubAsAgent((client, identity) => listReachableServices(client, identity.hubUrl));
      found = findReachableService(services, service, from);
    } catch (error) {
      this.warnLine(`Could not check whether ${service} is online: ${describeError(error)}`);
      return undefined;
    }
    if (found === undefined) return undefined;
    if (!found.online) {
      const whose =
        found.from === null
          ? `its agent${found.agentLabel === null ? "" : ` ${found.agentLabel}`} is not connected to the hub`
          : `the agent of ${found.from} exposing it is not connected to the hub`;
      this.warnLine(
        `Warning: ${service} is offline now (${whose}): connections to this port are closed until it comes back; see connect services`,
      );
    }
    return found.online;
  }

  /** To stderr even under --json (which silences logToStderr): scripts read stdout, people read this. */
  private warnLine(line: string): void {
    ux.stderr(escapeUnprintable(line));
  }
}

/** "Service not found" from the hub, plus the next step: the list of what this agent can reach. */
function explainServiceNotFound(error: unknown, service: string, from: string | undefined): unknown {
  if (!isConnectError(error, "SERVICE_NOT_FOUND") || !error.message.startsWith("Service not found")) return error;
  const what = from === undefined ? service : `${service} from ${from}`;
  return new ConnectError(
    "SERVICE_NOT_FOUND",
    `Service not found: this agent can reach no service ${what}; list the ones it can with connect services`,
    { cause: error },
  );
}
