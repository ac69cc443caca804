import { agentProfileOutput, registerAgentInput, registerAgentOutput } from "../schemas/agents.js";
import { getAgentProfile } from "../services/agents/get-agent-profile.js";
import { registerAgent } from "../services/agents/register-agent.js";
import { agentProcedure, apiKeyProcedure, router } from "../trpc.js";

export const agentsRouter = router({
  register: apiKeyProcedure
    .input(registerAgentInput)
    .output(registerAgentOutput)
    .mutation(({ ctx, input }) => registerAgent(ctx.deps, ctx.principal, input)),

  me: agentProcedure.output(agentProfileOutput).query(({ ctx }) => getAgentProfile(ctx.deps, ctx.principal)),
});
