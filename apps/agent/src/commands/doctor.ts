import { userInfo } from "node:os";
import { BaseCommand } from "../cli/base-command.js";
import { type DoctorCheck, isHealthy } from "../doctor/check.js";
import { formatDoctor, summarizeDoctor } from "../doctor/format-doctor.js";
import { runDoctor } from "../doctor/run-doctor.js";
import { AGENT_VERSION } from "../version.js";

export default class Doctor extends BaseCommand<typeof Doctor> {
  static override summary =
    "check this machine's agent, its hub, token, clock, exposures and reaches, and say how to fix each problem";
  static override description =
    "Runs every check in a few seconds (each network step gives up after 2.5 s): the config directory's permissions, the running agent and its control socket, the hub's DNS, TCP, TLS certificate, /healthz and protocol version, the agent token and its expiry, the clock against the hub's, each exposure's target and each reach's local port. Each line says ok, warn, FAIL or skip (not checked, because a check it needs failed), with the fix under it. Exits 0 only when every check passes. Read-only, with one exception: when no agent runs here and the hub does not see this agent connected elsewhere, the protocol check says hello on the hub's relay as this agent and hangs up (the hub sees it connect for a moment).";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> doctor",
    "<%= config.bin %> doctor --json",
    "<%= config.bin %> doctor --config ~/.private-connect-laptop",
  ];

  async run(): Promise<DoctorCheck[]> {
    const checks = await runDoctor({
      paths: this.paths,
      isInsecureAllowed: this.env.isInsecureAllowed,
      agentVersion: AGENT_VERSION,
      uid: process.getuid?.(),
      userName: userInfo().username,
    });
    if (!this.jsonEnabled()) {
      this.log([...formatDoctor(checks, { isColour: process.stdout.isTTY === true }), "", summarizeDoctor(checks)].join("\n"));
    }
    // Not this.exit(1): under --json, oclif prints the returned list only when run() returns.
    if (!isHealthy(checks)) process.exitCode = 1;
    return checks;
  }
}
