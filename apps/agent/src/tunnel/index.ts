export { Backoff } from "./backoff.js";
export { type FrameSink, StreamBridge } from "./stream-bridge.js";
export {
  relayUrlFor,
  TunnelClient,
  type TunnelOptions,
  type TunnelState,
  type TunnelTarget,
  type WelcomeInfo,
} from "./tunnel-client.js";
