import { Args, Flags } from "@oclif/core";
import { type CheckReport, checkProtocols, checkService } from "../check/check-service.js";
import { formatCheckReport } from "../check/format-check-report.js";
import { parseCheckTimeout } from "../check/parse-check-timeout.js";
import { BaseCommand } from "../cli/base-command.js";
import { ConnectError } from "../errors.js";

export default class Check extends BaseCommand<typeof Check> {
  static override summary = "check that a service answers, through the tunnel, as its protocol should";
  static override description =
    "The running agent opens a stream to the service through the hub (over your reach of it, or a temporary one it stops afterwards) and says how long the open took, then speaks the first words of the service's protocol: PostgreSQL (SSLRequest and a startup message for a user nobody has, never a password), MySQL or MariaDB (its greeting and version), Redis (PING), HTTP (HEAD /), TLS (the handshake and the certificate) or raw TCP (what the service sends first). The protocol is --protocol, or guessed from the service's port. The hub never dials or probes anything itself. Exits non-zero unless the service answered as it should.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> check prod-db",
    "<%= config.bin %> check cache --protocol redis --timeout 5s",
    "<%= config.bin %> check api --from acme --protocol http --json",
  ];
  static override args = {
    name: Args.string({ description: "name of the service to check", required: true }),
  };
  static override flags = {
    from: Flags.string({ description: "workspace that shared the service with yours", helpValue: "WORKSPACE" }),
    protocol: Flags.option({
      description: "protocol to probe (default: guessed from the service's port, else tcp)",
      options: checkProtocols,
    })(),
    timeout: Flags.string({ description: "give up on the whole check after this long", default: "10s", helpValue: "DURATION" }),
  };

  async run(): Promise<CheckReport> {
    const service = this.args.name.trim();
    if (service === "") throw new ConnectError("INVALID_INPUT", "Give the service to check, for example connect check prod-db");
    const { from, protocol, timeout } = this.flags;
    const report = await checkService(this.control, {
      service,
      timeoutMs: parseCheckTimeout(timeout),
      ...(from === undefined ? {} : { from }),
      ...(protocol === undefined ? {} : { protocol }),
    });
    this.report(formatCheckReport(report));
    // Not this.exit(1): under --json, oclif prints the returned report only when run() returns.
    if (!report.isHealthy) process.exitCode = 1;
    return report;
  }
}
