#!/usr/bin/env node
// The dashboard's server: the built Next.js app behind a plain Node HTTP server, for one reason.
// Next.js gives route handlers no peer address, and its X-Forwarded-For is whatever a browser
// chose to send; this stamps every request with the address its connection really came from
// (replacing any such header the browser sent), so the dashboard can pass the hub the visitor's
// own address instead of its own, or a forged one. `npm start` runs this; so can you:
//   node apps/web/server.mjs --port 3000 --hostname 127.0.0.1
import { createServer } from "node:http";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import next from "next";

/** Read by src/lib/server/hub-proxy.ts; the mark tells it someone here stamps the header. */
const PEER_HEADER = "x-pc-peer-address";
globalThis[Symbol.for("private-connect.dashboard.peer-header")] = PEER_HEADER;

const usage = "node server.mjs [--port 3000] [--hostname 127.0.0.1]   (the built dashboard: run next build first)";

let options;
try {
  options = parseArgs({
    options: {
      port: { type: "string", default: "3000" },
      // Like `next start`: every interface unless told otherwise.
      hostname: { type: "string", default: "0.0.0.0" },
      help: { type: "boolean", default: false },
    },
  }).values;
} catch (error) {
  process.stderr.write(`Error: ${error.message}\n${usage}\n`);
  process.exit(1);
}
if (options.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const port = Number(options.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`Error: invalid --port "${options.port}": use a number from 0 to 65535\n`);
  process.exit(1);
}

const app = next({ dev: false, dir: dirname(fileURLToPath(import.meta.url)), hostname: options.hostname, port });
const handle = app.getRequestHandler();
await app.prepare();

const server = createServer((request, response) => {
  request.headers[PEER_HEADER] = request.socket.remoteAddress ?? "";
  handle(request, response).catch((error) => {
    process.stderr.write(`dashboard request failed: ${error instanceof Error ? error.message : String(error)}\n`);
    if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain" });
    response.end("Internal error in the dashboard: try again");
  });
});
server.on("clientError", (_error, socket) => socket.destroy());
server.listen(port, options.hostname, () => {
  const address = server.address();
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  process.stdout.write(`dashboard listening on http://${host}:${address.port}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  // Live-update streams never end by themselves.
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
