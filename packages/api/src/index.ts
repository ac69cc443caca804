// Everything the hub (and the dashboard) needs from the control plane. Client code imports
// `type AppRouter` only.

export type { AgentPrincipal, ApiDeps, ApiKeyPrincipal, Principal } from "./deps.js";
export {
  AGENT_TOKEN_EXPIRED,
  APP_ERROR_CODES,
  AppError,
  type AppErrorCode,
  httpStatusForAppError,
  INVALID_CREDENTIALS,
  isAppError,
  SERVICE_NOT_FOUND,
  toTRPCError,
  trpcCodeForAppError,
} from "./errors.js";
export {
  type CreateWorkspaceEventsOptions,
  createWorkspaceEvents,
  SUBSCRIBER_FELL_BEHIND,
  type WorkspaceEvents,
} from "./events/workspace-events.js";
export { type AppRouter, appRouter, createCaller } from "./root.js";
export {
  type AgentProfile,
  CLIENT_TYPES,
  type ClientType,
  type RegisterAgentInput,
  type RegisterAgentOutput,
} from "./schemas/agents.js";
export { type WorkspaceEvent, type WorkspaceEventMessage, workspaceEventMessage } from "./schemas/events.js";
export {
  type ExposedService,
  type ExposeServiceInput,
  SERVICE_NAME_PATTERN,
  type ServiceView,
} from "./schemas/services.js";
export type { CreateWorkspaceInput, CreateWorkspaceResult } from "./schemas/workspaces.js";
export { announceAgentOffline, announceAgentOnline } from "./services/agents/announce-agent-presence.js";
export { getAgentProfile } from "./services/agents/get-agent-profile.js";
export { recordAgentSeen } from "./services/agents/record-agent-seen.js";
export { type AgentCredentialState, readAgentCredential } from "./services/agents/read-agent-credential.js";
export { registerAgent } from "./services/agents/register-agent.js";
export { authenticateBearer } from "./services/auth/authenticate-bearer.js";
export { AGENT_TOKEN_PATTERN, API_KEY_PATTERN, generateAgentToken, generateApiKey } from "./services/auth/secrets.js";
export { streamWorkspaceEvents } from "./services/events/stream-workspace-events.js";
export { authorizeStreamOpen, type StreamRoute } from "./services/services/authorize-stream-open.js";
export { exposeService } from "./services/services/expose-service.js";
export { getService } from "./services/services/get-service.js";
export { listServices } from "./services/services/list-services.js";
export { unexposeService } from "./services/services/unexpose-service.js";
export { createWorkspace, slugify } from "./services/workspaces/create-workspace.js";
export {
  type Context,
  type CreateContextInnerOptions,
  createContextFromRequest,
  createContextInner,
  parseBearer,
} from "./trpc.js";
