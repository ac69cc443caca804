import { CloseCode, decodeControl, encodeControl, FrameType, forEachFrame, PROTOCOL_VERSIONS } from "@private-connect/protocol";
import WebSocket from "ws";
import { readRelayRefusal } from "../tunnel/relay-refusal.js";
import { relayUrlFor } from "../tunnel/tunnel-client.js";
import { formatSeconds, NETWORK_TIMEOUT_MS } from "./check.js";

/** What the hub's relay answered a hello with. */
export type RelayProbeResult =
  | { kind: "welcome"; version: number; hubVersion: string | undefined }
  /** The hub answered the hello with an error (unsupported_version, ...) or closed the connection. */
  | { kind: "refused"; code: string; message: string }
  /** The upgrade itself was refused (401 for a bad token, 503, a proxy page). */
  | { kind: "http"; status: number; message: string };

export interface RelayProbeOptions {
  hubUrl: string;
  token: string;
  agentVersion: string;
  timeoutMs?: number;
}

/**
 * Says hello on /relay as this agent and hangs up on the answer. The hub treats it as the agent
 * connecting (for a moment), and a newer connection replaces an older one of the same token: only
 * call this when no agent of this identity is connected.
 */
export function probeRelay(options: RelayProbeOptions): Promise<RelayProbeResult> {
  const timeoutMs = options.timeoutMs ?? NETWORK_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(relayUrlFor(options.hubUrl), {
      headers: { authorization: `Bearer ${options.token}`, "user-agent": `private-connect-doctor/${options.agentVersion}` },
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
    });
    let isSettled = false;
    let refusal: { code: string; message: string } | undefined;
    const settle = (outcome: () => void) => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      if (ws.readyState === WebSocket.OPEN) ws.close(CloseCode.NORMAL, "doctor done");
      else ws.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`the relay did not answer the hello within ${formatSeconds(timeoutMs)}`))),
      timeoutMs,
    );
    ws.on("unexpected-response", (_request, response) => {
      void readRelayRefusal(response).then(({ status, message }) =>
        settle(() => resolve({ kind: "http", status, message: message.trim().slice(0, 200) })),
      );
    });
    ws.on("open", () => {
      ws.send(encodeControl({ type: "hello", versions: [...PROTOCOL_VERSIONS], agentVersion: options.agentVersion }));
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary || !Buffer.isBuffer(data)) return;
      try {
        forEachFrame(data, (type, _streamId, payload) => {
          if (type !== FrameType.CONTROL) return;
          const message = decodeControl(payload);
          if (message.type === "welcome") {
            const hubVersion = (message as { hubVersion?: unknown }).hubVersion;
            settle(() =>
              resolve({
                kind: "welcome",
                version: message.version,
                hubVersion: typeof hubVersion === "string" ? hubVersion : undefined,
              }),
            );
          } else if (message.type === "error") {
            // The close follows; keep the reason, which says more than the close code.
            refusal = { code: message.code, message: message.message };
          }
        });
      } catch (error) {
        settle(() => reject(error));
      }
    });
    ws.on("close", (code, reason) => {
      settle(() =>
        resolve({ kind: "refused", code: refusal?.code ?? String(code), message: refusal?.message ?? reason.toString("utf8") }),
      );
    });
    ws.on("error", (error) => settle(() => reject(error)));
  });
}
