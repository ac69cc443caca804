// Everything the hub (and the dashboard) needs from the control plane. Client code imports
// `type AppRouter` only.

export type {
  AgentPrincipal,
  ApiDeps,
  ApiKeyPrincipal,
  Caller,
  MemberRole,
  Principal,
  ServiceRef,
  ServiceTraffic,
  UserPrincipal,
  WorkspaceUserPrincipal,
} from "./deps.js";
export {
  AGENT_NOT_FOUND,
  AGENT_TOKEN_EXPIRED,
  API_KEY_NOT_FOUND,
  APP_ERROR_CODES,
  AppError,
  type AppErrorCode,
  httpStatusForAppError,
  INVALID_CREDENTIALS,
  isAppError,
  MEMBER_NOT_FOUND,
  PROVISIONED_TOKEN_EXPIRED,
  REDIS_UNAVAILABLE_MESSAGE,
  SERVICE_NOT_FOUND,
  SESSION_EXPIRED,
  SIGN_IN_LINK_INVALID,
  toTRPCError,
  trpcCodeForAppError,
  USER_SESSION_REQUIRED,
  WORKSPACE_NOT_FOUND,
  WORKSPACE_REQUIRED,
} from "./errors.js";
export { createRevocations, type Revocation, type Revocations, revocationSchema } from "./events/revocations.js";
export {
  type CreateWorkspaceEventsOptions,
  createWorkspaceEvents,
  SUBSCRIBER_FELL_BEHIND,
  type WorkspaceEvents,
} from "./events/workspace-events.js";
export { type AppRouter, appRouter, createCaller } from "./root.js";
export {
  AGENT_CREATOR_TYPES,
  type AgentCreatorView,
  type AgentIpChangeView,
  type AgentListItem,
  type AgentProfile,
  CLIENT_TYPES,
  type ClientType,
  type ConfirmAgentTokenRotationOutput,
  PEER_KEY_EVENTS,
  type PeerKeyEvent,
  PROVISION_TTL_BOUNDS_MESSAGE,
  PROVISION_TTL_DEFAULT_SECONDS,
  PROVISION_TTL_MAX_SECONDS,
  PROVISION_TTL_MIN_SECONDS,
  type ProvisionAgentInput,
  type ProvisionAgentOutput,
  type RegisterAgentInput,
  type RegisterAgentOutput,
  type ReportPeerKeyInput,
  type ReportPeerKeyOutput,
  type RevokeAgentInput,
  type RevokedAgentView,
  type RotateAgentTokenOutput,
  type SetE2eKeyInput,
  type SetE2eKeyOutput,
} from "./schemas/agents.js";
export type { ApiKeyView, CreatedApiKey } from "./schemas/api-keys.js";
export {
  AUDIT_DATA_MAX_BYTES,
  AUDIT_LIST_MAX_LIMIT,
  type AuditEventView,
  type AuditStatsOutput,
  HUB_EVENT_TYPES,
  type ListAuditEventsInput,
  type ListAuditEventsOutput,
  REPORTED_ACTIONS,
  type ReportActionInput,
  type ReportedAction,
} from "./schemas/audit.js";
export { MEMBER_ROLES, type SignedInUser, type UserWorkspaceView } from "./schemas/auth.js";
export type {
  DecideDeviceAuthorizationOutput,
  PollDeviceAuthorizationOutput,
  StartDeviceAuthorizationOutput,
} from "./schemas/device-auth.js";
export {
  SERVICE_E2E_POLICIES,
  type ServiceE2ePolicy,
  WORKSPACE_E2E_POLICIES,
  type WorkspaceE2ePolicy,
} from "./schemas/e2e.js";
export { type WorkspaceEvent, type WorkspaceEventMessage, workspaceEvent, workspaceEventMessage } from "./schemas/events.js";
export {
  type CreatedLink,
  type CreateLinkInput,
  LINK_RATE_LIMIT_MAX,
  LINK_STATUSES,
  LINK_TTL_DEFAULT_SECONDS,
  LINK_TTL_MAX_SECONDS,
  LINK_TTL_MIN_SECONDS,
  type LinkView,
  type RevokedLink,
  type RevokeLinkInput,
} from "./schemas/links.js";
export type { InvitationView, MemberView, MyInvitationView } from "./schemas/members.js";
export {
  type ExposedService,
  type ExposeServiceInput,
  SERVICE_NAME_PATTERN,
  type ServiceConnectionView,
  type ServiceTrafficView,
  type ServiceView,
} from "./schemas/services.js";
export {
  type CreatedShare,
  type CreateShareInput,
  type JoinedShareView,
  type ResolvedService,
  SHARE_TTL_DEFAULT_SECONDS,
  SHARE_TTL_MAX_SECONDS,
  type ShareView,
} from "./schemas/shares.js";
export type {
  CreateWorkspaceInput,
  CreateWorkspaceResult,
  SetWorkspaceE2ePolicyInput,
  WorkspaceView,
} from "./schemas/workspaces.js";
export { announceAgentOffline, announceAgentOnline } from "./services/agents/announce-agent-presence.js";
export { confirmAgentTokenRotation } from "./services/agents/confirm-agent-token-rotation.js";
export { getAgentProfile } from "./services/agents/get-agent-profile.js";
export { listAgents } from "./services/agents/list-agents.js";
export { provisionAgent } from "./services/agents/provision-agent.js";
export { type AgentCredentialState, readAgentCredential } from "./services/agents/read-agent-credential.js";
export { recordAgentDisconnected } from "./services/agents/record-agent-disconnected.js";
export {
  type AgentIpChanged,
  normalizeIp,
  type RecordAgentSeenResult,
  recordAgentSeen,
} from "./services/agents/record-agent-seen.js";
export {
  DUPLICATE_CONNECTION_REASON,
  type DuplicateConnection,
  recordDuplicateConnection,
} from "./services/agents/record-duplicate-connection.js";
export { registerAgent } from "./services/agents/register-agent.js";
export { resolveOperatorWorkspace } from "./services/agents/resolve-operator-workspace.js";
export { revokeAgent, revokeAgentAsHubOperator } from "./services/agents/revoke-agent.js";
export { describeAgentRevocation, describeRevokedAgentToken } from "./services/agents/revoke-agents.js";
export { rotateAgentToken } from "./services/agents/rotate-agent-token.js";
export {
  type AuditAction,
  type AuditActor,
  type AuditEventInput,
  type AuditEventType,
  recordAuditEvent,
} from "./services/audit/record-audit-event.js";
export { TOKEN_USE_INTERVAL_MS } from "./services/audit/record-token-use.js";
export { type AuditPruning, scheduleAuditPruning } from "./services/audit/schedule-audit-pruning.js";
export { authenticateBearer, describeExpiredToken } from "./services/auth/authenticate-bearer.js";
export { createFileMailer, createSmtpMailer, type Mailer, type MailLog, maskEmailAddress } from "./services/auth/mailer.js";
export { createRateLimiter, type RateLimitDecision, type RateLimiter, type RateLimitRule } from "./services/auth/rate-limiter.js";
export { AGENT_TOKEN_PATTERN, API_KEY_PATTERN, generateAgentToken, generateApiKey } from "./services/auth/secrets.js";
export {
  type ClearedCookie,
  isLoopbackHost,
  type ResponseCookie,
  SESSION_COOKIE_NAME,
  SESSION_IDLE_TIMEOUT_MS,
  serializeClearedCookie,
  serializeCookie,
} from "./services/auth/session-cookie.js";
export {
  describeNetwork,
  MAGIC_LINK_TTL_MS,
  MAGIC_LINKS_PER_ADDRESS,
  MAGIC_LINKS_PER_IP,
} from "./services/auth/sign-in-link.js";
export {
  type DeviceApprover,
  decideDeviceAuthorization,
} from "./services/device-auth/decide-device-authorization.js";
export { pollDeviceAuthorization } from "./services/device-auth/poll-device-authorization.js";
export { startDeviceAuthorization } from "./services/device-auth/start-device-authorization.js";
export { effectiveE2ePolicy } from "./services/e2e/e2e-policy.js";
export { fingerprintE2eKey } from "./services/e2e/key-fingerprint.js";
export { streamWorkspaceEvents } from "./services/events/stream-workspace-events.js";
export { createLink } from "./services/links/create-link.js";
export {
  LINK_NOT_FOUND,
  PUBLIC_LINK_E2E_REQUIRED,
  PUBLIC_LINK_EXPIRED,
  PUBLIC_LINK_NOT_FOUND,
  PUBLIC_LINK_SERVICE_GONE,
} from "./services/links/link-messages.js";
export {
  isWithinPathPrefix,
  type LinkPathProblem,
  type NormalizedLinkPath,
  normalizeLinkPath,
  normalizePathPrefix,
  splitPathPrefix,
} from "./services/links/link-path.js";
export { buildLinkUrl, extractLinkSlug, isLinkSlug, LINK_SLUG_PATTERN } from "./services/links/link-slugs.js";
export { listLinks } from "./services/links/list-links.js";
export { type LinkAccess, maskIp, recordLinkAccess } from "./services/links/record-link-access.js";
export {
  type LinkRequestResolution,
  type ResolvedLink,
  resolveLinkForRequest,
} from "./services/links/resolve-link-for-request.js";
export { revokeLink } from "./services/links/revoke-link.js";
export {
  authorizeStreamOpen,
  type StreamExposer,
  type StreamOpenRequest,
  type StreamRoute,
} from "./services/services/authorize-stream-open.js";
export { exposeService } from "./services/services/expose-service.js";
export { getService } from "./services/services/get-service.js";
export { listServices } from "./services/services/list-services.js";
export { unexposeService } from "./services/services/unexpose-service.js";
export { SECRET_HASH_KEY_MISMATCH } from "./services/shares/keyed-hash.js";
export { type RekeyResult, rekeyLegacyHashes } from "./services/shares/rekey-legacy-hashes.js";
export { createWorkspace, slugify } from "./services/workspaces/create-workspace.js";
export {
  type Context,
  type CreateContextInnerOptions,
  createContextFromRequest,
  createContextInner,
  parseBearer,
  userProcedure,
} from "./trpc.js";
