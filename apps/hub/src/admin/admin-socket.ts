import { chmod, rm } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { z } from "zod";

/**
 * A local admin channel in the data directory. PGlite lets only one process open a data
 * directory, so while the hub runs, `connect-hub workspace create` (and `agent revoke|list`) asks
 * the hub to do the work instead of opening the database a second time. The socket is created with mode
 * 0600: only the user running the hub can use it.
 */
export function adminSocketPath(dataDir: string): string {
  return join(dataDir, "hub.sock");
}

const adminRequest = z.discriminatedUnion("method", [
  z.object({
    id: z.number(),
    method: z.literal("workspace.create"),
    params: z.object({ name: z.string(), ownerEmail: z.string() }),
  }),
  // Through the hub, not the database: the hub that holds the agent's connection closes it now.
  z.object({
    id: z.number(),
    method: z.literal("agent.revoke"),
    params: z.object({ workspace: z.string(), agent: z.string() }),
  }),
  z.object({ id: z.number(), method: z.literal("agent.list"), params: z.object({ workspace: z.string() }) }),
]);
export type AdminRequest = z.infer<typeof adminRequest>;
/** A request as a caller sends it: the id is the channel's. */
export type AdminCall = AdminRequest extends infer Request ? (Request extends AdminRequest ? Omit<Request, "id"> : never) : never;

export type AdminHandler = (request: AdminRequest) => Promise<unknown>;

const MAX_REQUEST_BYTES = 64 * 1024;

export async function serveAdminSocket(dataDir: string, handle: AdminHandler): Promise<Server> {
  const path = adminSocketPath(dataDir);
  await rm(path, { force: true });
  const server = createServer((socket) => {
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      const newline = buffered.indexOf("\n");
      if (newline < 0) return;
      const line = buffered.slice(0, newline);
      buffered = "";
      void answer(line).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
  });
  const answer = async (line: string): Promise<unknown> => {
    let request: AdminRequest;
    try {
      request = adminRequest.parse(JSON.parse(line));
    } catch {
      return { error: { message: "Malformed admin request" } };
    }
    try {
      return { id: request.id, result: await handle(request) };
    } catch (error) {
      return { id: request.id, error: { message: error instanceof Error ? error.message : String(error) } };
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return server;
}

/** Sends one request to a running hub; resolves undefined when no hub listens there. */
export function callAdminSocket(
  dataDir: string,
  request: AdminCall,
): Promise<{ result?: unknown; error?: { message: string } } | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(adminSocketPath(dataDir));
    let reply = "";
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${JSON.stringify({ id: 1, ...request })}\n`));
    socket.on("data", (chunk: string) => {
      reply += chunk;
    });
    socket.on("end", () => {
      try {
        resolve(JSON.parse(reply));
      } catch {
        reject(new Error("The running hub gave an unreadable answer"));
      }
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") resolve(undefined);
      else reject(error);
    });
  });
}
