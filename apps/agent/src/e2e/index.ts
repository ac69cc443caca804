/**
 * The end-to-end handshake as a library, for tools that must speak it from outside the agent:
 * the test suite's hostile hub answers handshakes with a key of its own to prove that certified
 * agents refuse it. `@private-connect/agent/e2e`.
 */
export type { RecordOpener, RecordSealer, StreamCiphers } from "../tunnel/stream-cipher.js";
export { generateKeyPair, type RawKeyPair } from "./noise/index.js";
export { answerStreamHandshake, beginStreamHandshake, type StreamParties } from "./stream-handshake.js";
