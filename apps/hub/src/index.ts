export { type HubEnv, readHubEnv } from "./config/env.js";
export { type HubOptions, type RunningHub, startHub } from "./hub.js";
export { createLogger } from "./logger.js";
export { OpenRefusal, type RelayAuthority } from "./relay/relay-authority.js";
export { renderPrometheus } from "./relay/relay-metrics.js";
export { type RelayOptions, RelayServer } from "./relay/relay-server.js";
