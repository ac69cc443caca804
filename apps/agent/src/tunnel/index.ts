export { Backoff } from "./backoff.js";
export { type FrameSink, StreamBridge } from "./stream-bridge.js";
export {
  AGENT_REVOKED_ERROR_CODE,
  isAgentRevokedError,
  relayUrlFor,
  TunnelClient,
  TunnelFatalError,
  type TunnelOptions,
  type TunnelState,
  type TunnelTarget,
  type WelcomeInfo,
} from "./tunnel-client.js";
