// The SDK surface of @private-connect/agent: what `connect` does, for TypeScript programs.

export {
  type CheckProtocol,
  type CheckReport,
  type CheckServiceRequest,
  checkProtocols,
  checkService,
} from "./check/check-service.js";

export { isLoopbackHost, normalizeHubUrl } from "./config/hub-url.js";
export { type AgentIdentity, readIdentity, writeIdentity } from "./config/identity.js";
export { type ConfigPaths, getConfigPaths, resolveConfigDir } from "./config/paths.js";
export { type AgentState, type Exposure, type ReachRecord, readState, writeState } from "./config/state.js";
export { type ControlClient, createControlClient } from "./daemon/control-client.js";
export type { AgentProcessStatus, ControlMethods } from "./daemon/control-protocol.js";
export { ConnectError, type ConnectErrorCode, isConnectError } from "./errors.js";
export * from "./sdk/index.js";
// The relay client itself, for programs (and tests) that manage streams without an Agent.
export {
  AGENT_REVOKED_ERROR_CODE,
  Backoff,
  isAgentRevokedError,
  relayUrlFor,
  TunnelClient,
  TunnelFatalError,
  type TunnelOptions,
  type TunnelTarget,
} from "./tunnel/index.js";
