import { z } from "zod";
import { parseDuration } from "../cli/parse-duration.js";
import { defineTool } from "./mcp-tool.js";
import { serviceNameInput } from "./service-input.js";

export const shareServiceTool = defineTool({
  name: "share_service",
  title: "Share services with another workspace",
  description:
    "Creates a share of this workspace's services and returns its code: an agent of another workspace that runs connect join CODE can then reach them until the code expires or is revoked (connect share revoke). Offered only when connect mcp runs with --allow-expose.",
  inputSchema: z.object({
    services: z.array(serviceNameInput).min(1).max(50).describe("the service names to share"),
    name: z.string().trim().min(1).max(100).optional().describe("what to call the share in lists and audit logs"),
    expires: z.string().trim().default("7d").describe("how long the code works: 90m, 12h, 7d, 2w"),
    rateLimitPerMinute: z.number().int().min(1).optional().describe("new connections per minute through the share"),
  }),
  outputSchema: z.object({
    name: z.string(),
    code: z.string(),
    services: z.array(z.string()),
    expiresAt: z.string(),
    rateLimitPerMinute: z.number().int().nullable(),
  }),
  isChanging: true,
  needsAllowExpose: true,
  describeTarget: (input) => `share_service ${input.services.join(",")}`,
  async run(input, context) {
    const expiresInSeconds = parseDuration(input.expires, "expires");
    // Like connect share, a share belongs to the agent's workspace; the running agent must be up.
    await context.control.request("status", {});
    const created = await context.hub.createShare({
      name: input.name ?? `share-${new Date().toISOString().slice(0, 10)}`,
      expiresInSeconds,
      services: input.services,
      ...(input.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: input.rateLimitPerMinute }),
    });
    return {
      text: `Share ${created.name} of ${created.services.join(", ")} until ${created.expiresAt}: code ${created.code} (shown once; the other side runs connect join CODE)`,
      structured: {
        name: created.name,
        code: created.code,
        services: created.services,
        expiresAt: created.expiresAt,
        rateLimitPerMinute: created.rateLimitPerMinute,
      },
    };
  },
});
