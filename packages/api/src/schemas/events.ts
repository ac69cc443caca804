import { z } from "zod";

const agentPresence = { agentId: z.uuid(), label: z.string() };
const serviceChange = { name: z.string(), agentId: z.uuid() };

/** What happened in a workspace, as its live-update subscribers see it. */
export const workspaceEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("agent.online"), ...agentPresence }),
  z.object({ type: z.literal("agent.offline"), ...agentPresence }),
  z.object({ type: z.literal("service.exposed"), ...serviceChange }),
  z.object({ type: z.literal("service.removed"), ...serviceChange }),
]);
export type WorkspaceEvent = z.infer<typeof workspaceEvent>;

/**
 * The subscription's stream: first `subscribed` (from then on nothing published is missed, so a
 * client that fetches current state after it has no gap), then the workspace's events.
 */
export const workspaceEventMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribed"), workspaceId: z.uuid() }),
  ...workspaceEvent.options,
]);
export type WorkspaceEventMessage = z.infer<typeof workspaceEventMessage>;
