import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import { findRunningAgent } from "../../daemon/agent-process.js";
import { writeLastStop } from "../../daemon/last-stop.js";
import { type RevokedAgent, revokeAgent } from "../../sdk/agents.js";
import { AGENT_REVOKED_ERROR_CODE } from "../../tunnel/tunnel-client.js";

export default class AgentsRevoke extends BaseCommand<typeof AgentsRevoke> {
  static override summary = "revoke an agent of your workspace: its connection is closed and its token never works again";
  static override description =
    "Revokes the agent named by its label or id (connect agents list shows both; a label two agents share needs the id). The hub closes that agent's relay connection at once with the reason, resets its streams, takes its exposures offline and refuses its token from then on; the agent stops and does not retry. This runs as this machine's agent: one registered with an API key or approved by an owner may revoke any agent of the workspace, one a member approved only that member's agents, a provisioned one only itself (in the dashboard, owners revoke any agent and members the ones they approved). Undoing it means registering the machine again.";
  static override enableJsonFlag = true;
  static override args = {
    agent: Args.string({ description: "label or id of the agent to revoke", required: true }),
  };
  static override examples = [
    "<%= config.bin %> agents revoke build-box",
    "<%= config.bin %> agents revoke 3f2a8c1e-0b7d-4c55-9a61-2f0e9d4b7a10 --json",
    "<%= config.bin %> agents revoke laptop --config ~/.private-connect-server",
  ];

  async run(): Promise<RevokedAgent> {
    const { revoked, isSelf } = await this.callHubAsAgent(async (client, identity) => {
      const result = await revokeAgent(client, identity.hubUrl, this.args.agent);
      return { revoked: result, isSelf: result.agentId === identity.agentId };
    });
    // A running agent records the hub's own reason when its connection is closed; without one,
    // record it here, so connect up and the other commands never send the dead token again.
    if (isSelf && (await findRunningAgent(this.paths)) === undefined) {
      await writeLastStop(this.paths.lastStop, {
        at: revoked.revokedAt,
        reason: `This agent was revoked from this machine (connect agents revoke): ask an owner to let you in again`,
        code: AGENT_REVOKED_ERROR_CODE,
        agentId: revoked.agentId,
      });
    }
    this.report(
      isSelf
        ? `Revoked agent ${revoked.label} (${revoked.agentId}), this machine's own agent: it stops now and its token no longer works`
        : `Revoked agent ${revoked.label} (${revoked.agentId}) at ${revoked.revokedAt}: its hub connection was closed and its token no longer works`,
    );
    return revoked;
  }
}
