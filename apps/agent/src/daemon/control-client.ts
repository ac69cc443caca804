import { randomUUID } from "node:crypto";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import { ConnectError, type ConnectErrorCode, isConnectErrorCode } from "../errors.js";
import { type ControlMethod, type ControlMethods, MAX_CONTROL_LINE_BYTES } from "./control-protocol.js";

export interface ControlClient {
  readonly socketPath: string;
  request<M extends ControlMethod>(
    method: M,
    params: ControlMethods[M]["params"],
    options?: { timeoutMs?: number },
  ): Promise<ControlMethods[M]["result"]>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function createNotRunningError(configDir: string, cause?: unknown): ConnectError {
  return new ConnectError("AGENT_NOT_RUNNING", `No agent is running for ${configDir}: start one with connect up`, { cause });
}

function toConnectErrorCode(value: unknown): ConnectErrorCode {
  return isConnectErrorCode(value) ? value : "CONTROL_FAILED";
}

/**
 * A client of the agent's control socket. Each request uses its own short connection: the CLI
 * makes one or two calls per run, and a fresh connection can never be left half-read.
 */
export function createControlClient(socketPath: string): ControlClient {
  const configDir = dirname(socketPath);
  return {
    socketPath,
    request(method, params, options = {}) {
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const id = randomUUID();
      return new Promise((resolve, reject) => {
        const socket = createConnection(socketPath);
        let buffered = "";
        let isSettled = false;
        const settle = (outcome: () => void) => {
          if (isSettled) return;
          isSettled = true;
          clearTimeout(timer);
          socket.destroy();
          outcome();
        };
        const timer = setTimeout(() => {
          settle(() =>
            reject(
              new ConnectError(
                "CONTROL_FAILED",
                `The agent for ${configDir} did not answer "${method}" within ${Math.round(timeoutMs / 1000)}s: check ${configDir}/agent.log`,
              ),
            ),
          );
        }, timeoutMs);
        socket.setEncoding("utf8");
        socket.on("connect", () => socket.write(`${JSON.stringify({ id, method, params })}\n`));
        socket.on("data", (chunk: string) => {
          buffered += chunk;
          if (buffered.length > MAX_CONTROL_LINE_BYTES) {
            settle(() => reject(new ConnectError("CONTROL_FAILED", "The agent sent an oversized control answer")));
            return;
          }
          let newline = buffered.indexOf("\n");
          while (newline !== -1) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            newline = buffered.indexOf("\n");
            let response: unknown;
            try {
              response = JSON.parse(line);
            } catch {
              settle(() => reject(new ConnectError("CONTROL_FAILED", "The agent sent an unreadable control answer")));
              return;
            }
            if (typeof response !== "object" || response === null || (response as { id?: unknown }).id !== id) continue;
            const body = response as { result?: unknown; error?: { message?: unknown; code?: unknown } };
            if (body.error !== undefined) {
              const message = typeof body.error.message === "string" ? body.error.message : "The agent reported an error";
              settle(() => reject(new ConnectError(toConnectErrorCode(body.error?.code), message)));
            } else {
              settle(() => resolve(body.result as ControlMethods[typeof method]["result"]));
            }
            return;
          }
        });
        socket.on("error", (error: NodeJS.ErrnoException) => {
          // No socket file, or a file nobody listens on: both mean no agent for this directory.
          const isAbsent = error.code === "ENOENT" || error.code === "ECONNREFUSED" || error.code === "ENOTSOCK";
          settle(() =>
            reject(
              isAbsent
                ? createNotRunningError(configDir, error)
                : new ConnectError("CONTROL_FAILED", `Cannot talk to the agent for ${configDir}: ${error.message}`, {
                    cause: error,
                  }),
            ),
          );
        });
        socket.on("close", () => {
          settle(() =>
            reject(
              new ConnectError(
                "CONTROL_FAILED",
                `The agent for ${configDir} closed the control connection before answering "${method}"`,
              ),
            ),
          );
        });
      });
    },
  };
}
