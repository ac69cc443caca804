import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

// The responses the hub writes itself on a link (refusals, upstream failures), and the heads of
// the ones it passes on from a service, on a ServerResponse or on a raw upgrade socket.

function plainTextHeaders(body: string, extra: Record<string, string> = {}): Record<string, string | number> {
  return {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...extra,
  };
}

function hasRequestBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** A plain-text answer from the hub itself (a refusal, or an upstream failure). */
export function sendText(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  message: string,
  extra?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  // An unread body would otherwise be read and thrown away to keep the connection: refuse both.
  const connection: Record<string, string> = !req.complete && hasRequestBody(req) ? { connection: "close" } : {};
  res.writeHead(status, plainTextHeaders(body, { ...extra, ...connection }));
  res.end(body);
}

/** The same answer on a raw socket, for an upgrade request. */
export function writeRawText(socket: Duplex, status: number, message: string, extra: Record<string, string> = {}): void {
  const body = `${message}\n`;
  const headers = { ...plainTextHeaders(body, extra), connection: "close" };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n${lines.join("")}\r\n${body}`);
}

/**
 * Writes a proxied response head with every header line kept. Appended one by one because
 * writeHead(status, rawList) on a response that already has headers (the request id) keeps only
 * the last of repeated names, and two Set-Cookie must stay two.
 */
export function writeProxiedHead(
  res: ServerResponse,
  status: number,
  statusMessage: string | undefined,
  headers: readonly string[],
): void {
  for (let index = 0; index + 1 < headers.length; index += 2) res.appendHeader(headers[index] ?? "", headers[index + 1] ?? "");
  res.writeHead(status, statusMessage);
}

/** A response's head on a raw socket, for the answer to an upgrade request. */
export function serializeResponseHead(status: number, statusMessage: string | undefined, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${statusMessage || (STATUS_CODES[status] ?? "")}\r\n`;
  for (let index = 0; index + 1 < headers.length; index += 2) head += `${headers[index]}: ${headers[index + 1]}\r\n`;
  return `${head}\r\n`;
}
