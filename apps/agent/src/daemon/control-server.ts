import { chmod } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { ConnectError, describeError } from "../errors.js";
import {
  type ControlErrorBody,
  type ControlHandler,
  type ControlResponse,
  controlParamSchemas,
  controlRequestSchema,
  isControlMethod,
  MAX_CONTROL_LINE_BYTES,
} from "./control-protocol.js";

export interface ControlServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

function toErrorBody(error: unknown): ControlErrorBody {
  if (error instanceof ConnectError) return { message: error.message, code: error.code };
  return { message: describeError(error) };
}

async function dispatch(handler: ControlHandler, line: string): Promise<ControlResponse> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { id: null, error: { message: "Control request is not valid JSON" } };
  }
  const request = controlRequestSchema.safeParse(raw);
  if (!request.success) return { id: null, error: { message: "Control request needs id and method" } };
  const { id, method } = request.data;
  if (!isControlMethod(method)) return { id, error: { message: `Unknown control method "${method}"` } };
  const params = controlParamSchemas[method].safeParse(request.data.params ?? {});
  if (!params.success) {
    const issue = params.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    return { id, error: { message: `Invalid ${method} request: ${where}${issue?.message ?? "invalid"}`, code: "INVALID_INPUT" } };
  }
  try {
    // The schema lookup and the handler lookup use the same key, which TypeScript cannot
    // correlate through the union; the cast restates that.
    const call = handler[method] as (p: unknown) => Promise<unknown>;
    return { id, result: await call(params.data) };
  } catch (error) {
    return { id, error: toErrorBody(error) };
  }
}

function serveConnection(socket: Socket, handler: ControlHandler): void {
  socket.setEncoding("utf8");
  let buffered = "";
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_CONTROL_LINE_BYTES && !buffered.includes("\n")) {
      socket.destroy();
      return;
    }
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== "") {
        void dispatch(handler, line).then((response) => {
          if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(response)}\n`);
        });
      }
      newline = buffered.indexOf("\n");
    }
  });
  // A client that vanishes mid-request is normal (Ctrl-C on the CLI); nothing to report.
  socket.on("error", () => {});
}

/**
 * Listens on the unix socket at `socketPath` and answers control requests with `handler`.
 * The caller must have cleared a stale socket file first (see agent-process.ts).
 */
export async function startControlServer(socketPath: string, handler: ControlHandler): Promise<ControlServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    serveConnection(socket, handler);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => {});
  // The directory is already private; this keeps the socket so if the directory is not.
  await chmod(socketPath, 0o600).catch(() => {});
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Give in-flight answers (such as the reply to "shutdown") a moment to flush, then cut.
        for (const socket of sockets) socket.end();
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 200).unref();
      }),
  };
}
