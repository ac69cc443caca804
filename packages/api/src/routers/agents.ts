import { z } from "zod";
import {
  agentListItem,
  agentProfileOutput,
  confirmAgentTokenRotationOutput,
  type ProvisionAgentInput,
  provisionAgentOutput,
  registerAgentInput,
  registerAgentOutput,
  reportPeerKeyInput,
  reportPeerKeyOutput,
  revokeAgentInput,
  revokedAgentOutput,
  rotateAgentTokenOutput,
  setE2eKeyInput,
  setE2eKeyOutput,
} from "../schemas/agents.js";
import { confirmAgentTokenRotation } from "../services/agents/confirm-agent-token-rotation.js";
import { getAgentProfile } from "../services/agents/get-agent-profile.js";
import { listAgents } from "../services/agents/list-agents.js";
import { provisionAgent } from "../services/agents/provision-agent.js";
import { registerAgent } from "../services/agents/register-agent.js";
import { reportPeerKey } from "../services/agents/report-peer-key.js";
import { revokeAgent } from "../services/agents/revoke-agent.js";
import { rotateAgentToken } from "../services/agents/rotate-agent-token.js";
import { setAgentE2eKey } from "../services/agents/set-agent-e2e-key.js";
import { agentProcedure, apiKeyProcedure, router, workspaceProcedure } from "../trpc.js";

export const agentsRouter = router({
  register: apiKeyProcedure
    .input(registerAgentInput)
    .output(registerAgentOutput)
    .mutation(({ ctx, input }) => registerAgent(ctx.deps, ctx.principal, input)),

  me: agentProcedure.output(agentProfileOutput).query(({ ctx }) => getAgentProfile(ctx.deps, ctx.principal)),

  /** The workspace's agents with presence, last seen (masked address), token expiry and IP changes. */
  list: workspaceProcedure.output(z.array(agentListItem)).query(({ ctx }) => listAgents(ctx.deps, ctx.principal)),

  /**
   * Revokes an agent at once: its token stops working and its relay connection closes. Owners and
   * API keys: any agent; members: the agents they approved; agents: themselves (see revokeAgent).
   */
  revoke: workspaceProcedure
    .input(revokeAgentInput)
    .output(revokedAgentOutput)
    .mutation(({ ctx, input }) => revokeAgent(ctx.deps, ctx.principal, input)),

  /** A new token for the calling agent, working alongside the current one until confirmed. */
  rotateToken: agentProcedure.output(rotateAgentTokenOutput).mutation(({ ctx }) => rotateAgentToken(ctx.deps, ctx.principal)),

  /** Called with the NEW token: it becomes the agent's token and the old one stops working. */
  confirmRotation: agentProcedure
    .output(confirmAgentTokenRotationOutput)
    .mutation(({ ctx }) => confirmAgentTokenRotation(ctx.deps, ctx.principal)),

  /** The calling agent's static end-to-end public key (on every connect up; a change is audited). */
  setE2eKey: agentProcedure
    .input(setE2eKeyInput)
    .output(setE2eKeyOutput)
    .mutation(({ ctx, input }) => setAgentE2eKey(ctx.deps, ctx.principal, input)),

  /** What the calling agent saw of a peer's key: changed (stream refused), trusted, or verified. */
  reportPeerKey: agentProcedure
    .input(reportPeerKeyInput)
    .output(reportPeerKeyOutput)
    .mutation(({ ctx, input }) => reportPeerKey(ctx.deps, ctx.principal, input)),

  /**
   * The tRPC twin of POST /v1/agents/provision. The input is checked by provisionAgent itself
   * (one set of messages for REST and tRPC); this only types it for clients.
   */
  provision: apiKeyProcedure
    .input(
      z.custom<ProvisionAgentInput>(
        (value) => typeof value === "object" && value !== null,
        "Send { clientType, label?, ttlSeconds? }",
      ),
    )
    .output(provisionAgentOutput)
    .mutation(({ ctx, input }) => provisionAgent(ctx.deps, ctx.principal, input)),
});
