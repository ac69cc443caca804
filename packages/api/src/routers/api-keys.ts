import { z } from "zod";
import {
  apiKeyView,
  createApiKeyInput,
  createdApiKeyOutput,
  revokeApiKeyInput,
  revokeApiKeyOutput,
} from "../schemas/api-keys.js";
import { createApiKey } from "../services/api-keys/create-api-key.js";
import { listApiKeys } from "../services/api-keys/list-api-keys.js";
import { revokeApiKey } from "../services/api-keys/revoke-api-key.js";
import { router, workspaceProcedure } from "../trpc.js";

// Owners (signed in) and API keys of the workspace; the services refuse members and agents.
export const apiKeysRouter = router({
  create: workspaceProcedure
    .input(createApiKeyInput)
    .output(createdApiKeyOutput)
    .mutation(({ ctx, input }) => createApiKey(ctx.deps, ctx.principal, input)),

  list: workspaceProcedure.output(z.array(apiKeyView)).query(({ ctx }) => listApiKeys(ctx.deps, ctx.principal)),

  revoke: workspaceProcedure
    .input(revokeApiKeyInput)
    .output(revokeApiKeyOutput)
    .mutation(({ ctx, input }) => revokeApiKey(ctx.deps, ctx.principal, input)),
});
