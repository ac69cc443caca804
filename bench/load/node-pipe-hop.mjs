// One hop of the "Node pipe" reference contenders: accepts plain TCP or TLS and forwards to the
// next hop over plain TCP or TLS, with nothing but Node's own stream plumbing in between. Three
// of these in the relay's two-hop shape show what Node's sockets (and its built-in TLS) cost
// on this machine: the floor under Private Connect over ws:// (and wss://).
//
//   node node-pipe-hop.mjs <plain|tls> <plain|tls> <next port> [cert.pem key.pem]
// Prints {"port": N} once it listens on 127.0.0.1.
import { readFileSync } from "node:fs";
import net from "node:net";
import { pipeline } from "node:stream";
import tls from "node:tls";

const [inbound, outbound, nextPort, certFile, keyFile] = process.argv.slice(2);
const kinds = [inbound, outbound];
if (!kinds.every((kind) => kind === "plain" || kind === "tls") || !Number(nextPort) || (kinds.includes("tls") && !keyFile)) {
  process.stderr.write("usage: node node-pipe-hop.mjs <plain|tls> <plain|tls> <next port> [cert.pem key.pem]\n");
  process.exit(2);
}
const cert = certFile ? readFileSync(certFile) : undefined;
const key = keyFile ? readFileSync(keyFile) : undefined;

function forward(client) {
  const next =
    outbound === "tls"
      ? tls.connect({ host: "127.0.0.1", port: Number(nextPort), ca: cert, allowHalfOpen: true })
      : net.connect({ host: "127.0.0.1", port: Number(nextPort), allowHalfOpen: true });
  // Each direction ends on its own (half-close); an error in either destroys both sockets,
  // since pipeline() destroys every stream it holds when one fails.
  const ignore = () => {};
  pipeline(client, next, ignore);
  pipeline(next, client, ignore);
}

// Half-open on every socket: the load client half-closes and then reads the sink's byte count.
const server =
  inbound === "tls"
    ? tls.createServer({ cert, key, allowHalfOpen: true }, forward)
    : net.createServer({ allowHalfOpen: true }, forward);
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
