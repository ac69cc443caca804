/** For programs that relay heavy traffic through the SDK; see its comment before calling it. */
export { tuneGarbageCollectorForRelaying } from "@private-connect/protocol";
export {
  Agent,
  type AgentOptions,
  type AgentStatus,
  type ExposeOptions,
  type ReachInfo,
  type ReachOptions,
  type RegisterOptions,
  type TunnelLike,
  type TunnelState,
  type WelcomeInfo,
} from "./agent.js";
export {
  type AgentCreator,
  type AgentListEntry,
  describeCreator,
  findAgent,
  listAgents,
  type RevokedAgent,
  revokeAgent,
} from "./agents.js";
export {
  type AuditClientOptions,
  type AuditEvent,
  type AuditListInput,
  type AuditListResult,
  type AuditStatsInput,
  type AuditStatsResult,
  getAuditStats,
  listAuditEvents,
  type ReportActionInput,
  type ReportActionResult,
  reportAction,
} from "./audit.js";
export {
  type DeviceLoginCode,
  type DeviceLoginOptions,
  type IssuedToken,
  identityFromToken,
  loginWithDeviceCode,
  type RotatedToken,
  type RotateTokenOptions,
  rotateAgentToken,
  type TokenIdentityOptions,
} from "./credentials.js";
export { callHub, createHubClient, type HubClient, type HubClientOptions, toHubError } from "./hub-client.js";
export { createLink, linkRevocationInput, listLinks, parseLinkMethods, parseLinkPaths, revokeLink } from "./links.js";
export { listenForReach, type ReachListener } from "./reach-listener.js";
export { findReachableService, listReachableServices, type ServiceListEntry } from "./services.js";
