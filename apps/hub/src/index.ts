export { type HubEnv, readHubEnv } from "./config/env.js";
export { type HubOptions, type RunningHub, startHub } from "./hub.js";
export { createLogger } from "./logger.js";
export { OpenRefusal, type RelayAuthority, RelayServer } from "./relay/relay-server.js";
