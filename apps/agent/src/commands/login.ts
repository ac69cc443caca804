import { hostname } from "node:os";
import { Flags, ux } from "@oclif/core";
import { escapeUnprintable } from "@private-connect/protocol";
import { BaseCommand } from "../cli/base-command.js";
import { normalizeHubUrl } from "../config/hub-url.js";
import { writeIdentity } from "../config/identity.js";
import { DEFAULT_CONFIG_DIR_NAME } from "../config/paths.js";
import { readState } from "../config/state.js";
import { findRunningAgent } from "../daemon/agent-process.js";
import { ConnectError } from "../errors.js";
import { loginWithDeviceCode } from "../sdk/credentials.js";
import { callHub, createHubClient } from "../sdk/hub-client.js";

export default class Login extends BaseCommand<typeof Login> {
  static override summary = "make this machine an agent of a workspace by approving a code in the browser";
  static override description = [
    "For a machine without an API key: prints a short code and a link; someone signed in to the workspace opens the link and approves the code, and this machine becomes an agent of that workspace with its own token (never an API key). The code expires after 10 minutes.",
    "The identity is saved in the config directory; start the agent with connect up.",
  ].join("\n\n");
  static override examples = [
    "<%= config.bin %> login --hub https://hub.example.com",
    "<%= config.bin %> login --hub https://hub.example.com --label build-box --config ~/.private-connect-build",
  ];
  static override flags = {
    hub: Flags.string({ description: "URL of the hub, for example https://hub.example.com", helpValue: "URL", required: true }),
    label: Flags.string({ description: "name of this agent in the workspace (default: the host name)", helpValue: "NAME" }),
  };

  async run(): Promise<void> {
    const running = await findRunningAgent(this.paths);
    if (running !== undefined) {
      throw new ConnectError(
        "AGENT_ALREADY_RUNNING",
        `An agent is running for ${this.paths.dir}${running.pid === undefined ? "" : ` (pid ${running.pid})`}: stop it with connect down before logging in again, or use another --config`,
      );
    }
    const isInsecureAllowed = this.env.isInsecureAllowed;
    const hubUrl = normalizeHubUrl(this.flags.hub, { isInsecureAllowed });
    const previous = await this.readIdentity();

    // A spinner is for someone watching a terminal; scripts get the lines and the result.
    const isSpinning = process.stderr.isTTY === true;
    const identity = await loginWithDeviceCode({
      hubUrl,
      label: this.flags.label ?? hostname(),
      isInsecureAllowed,
      onCode: ({ userCode, verificationUrl, expiresAt }) => {
        // The URL and code come from the hub: printed as text, whatever they contain.
        this.log("To make this machine an agent of your workspace, open this page signed in to the workspace:");
        this.log(`  ${escapeUnprintable(verificationUrl)}`);
        this.log(escapeUnprintable(`and check that it shows the code ${userCode} (it expires ${expiresAt}).`));
        if (isSpinning) ux.action.start("Waiting for approval", undefined, { stdout: false });
      },
    }).finally(() => {
      if (isSpinning && ux.action.running) ux.action.stop();
    });

    if (previous !== undefined && previous.hubUrl === hubUrl) await this.releaseExposures(previous);
    await writeIdentity(this.paths.identity, identity);
    this.log(
      escapeUnprintable(`Logged in: agent ${identity.label} (${identity.agentId}) in workspace ${identity.workspace.name}.`),
    );
    if (previous !== undefined) {
      this.log(
        escapeUnprintable(
          `It replaces agent ${previous.label} (${previous.agentId}) of ${previous.hubUrl}, saved in ${this.paths.dir} before.`,
        ),
      );
    }
    this.log(`Next: start it with ${this.describeUpCommand()}`);
  }

  /** The `connect up` that uses this identity, with --config only when it is not the default. */
  private describeUpCommand(): string {
    const isDefaultDir =
      this.flags.config === undefined &&
      this.env.connectHome === undefined &&
      this.paths.dir.endsWith(`/${DEFAULT_CONFIG_DIR_NAME}`);
    return isDefaultDir ? "connect up" : `connect up --config ${this.paths.dir}`;
  }

  /**
   * The agent this login replaces gives up its service names (best effort: its token may be the
   * expired one that made the user log in), so the new agent can announce the saved exposures.
   */
  private async releaseExposures(previous: { hubUrl: string; token: string }): Promise<void> {
    const state = await readState(this.paths.state).catch(() => undefined);
    if (state === undefined || state.exposures.length === 0) return;
    const client = createHubClient(previous.hubUrl, previous.token, { timeoutMs: 5000 });
    for (const exposure of state.exposures) {
      await callHub(previous.hubUrl, () => client.services.unexpose.mutate({ name: exposure.name })).catch(() => undefined);
    }
  }
}
