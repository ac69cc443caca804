import { formatPrintableBytes, formatPrintableText } from "./printable-bytes.js";
import { describeNoAnswer, elapsedSince, type Probe, type ProbeResult } from "./probe.js";
import { SocketReader } from "./socket-reader.js";

/** Status line and headers: servers cap theirs at 8 to 64 KiB; a HEAD answer has no body. */
const MAX_HEAD_BYTES = 32 * 1024;
const HOST_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i;

export interface HttpHead {
  version: string;
  status: number;
  reason: string;
  headers: Map<string, string>;
}

/** The status line and headers of an HTTP/1.x answer, or undefined when it is not one. */
export function parseHttpHead(head: string): HttpHead | undefined {
  const [statusLine = "", ...lines] = head.split("\r\n");
  const match = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (match === null) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { version: match[1] ?? "", status: Number(match[2]), reason: match[3] ?? "", headers };
}

/**
 * HTTP: `HEAD / HTTP/1.1` with the service's name as Host; reports the status and the Server
 * header. Any status is an HTTP answer; a 5xx one says the server itself has a problem.
 */
export const probeHttp: Probe = async (socket, options) => {
  const startedAt = performance.now();
  const reader = new SocketReader(socket, MAX_HEAD_BYTES);
  const host = options.serviceName !== undefined && HOST_NAME.test(options.serviceName) ? options.serviceName : "localhost";
  socket.write(`HEAD / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: connect-check\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
  const outcome = await reader.wait((bytes) => bytes.indexOf("\r\n\r\n") !== -1, options.deadline);
  const end = reader.bytes.indexOf("\r\n\r\n");
  if (outcome !== "complete" || end === -1) {
    // A server that answers with a status line and then closes still answered HTTP.
    const partial = parseHttpHead(reader.bytes.toString("latin1"));
    if (partial === undefined) {
      const sent = reader.bytes.length === 0 ? "" : `; it sent ${formatPrintableBytes(reader.bytes, 32)}`;
      return notHttp(`${describeNoAnswer(outcome === "complete" ? "closed" : outcome, "an HTTP answer", reader.error)}${sent}`);
    }
    return describeHead(partial, elapsedSince(startedAt));
  }
  const head = parseHttpHead(reader.bytes.toString("latin1", 0, end));
  if (head === undefined) {
    return notHttp(
      `the service answered HEAD / with ${formatPrintableBytes(reader.bytes, 32)}, not an HTTP status line: it is not HTTP`,
    );
  }
  return describeHead(head, elapsedSince(startedAt));
};

function describeHead(head: HttpHead, probeMs: number): ProbeResult {
  const details: ProbeResult["details"] = { status: head.status, httpVersion: head.version };
  const server = head.headers.get("server");
  if (server !== undefined) details.server = formatPrintableText(server, 100);
  const location = head.headers.get("location");
  if (location !== undefined) details.location = formatPrintableText(location, 200);
  const reason = formatPrintableText(head.reason, 100);
  const summary = `HTTP ${head.status}${reason === "" ? "" : ` ${reason}`}${server === undefined ? "" : ` from ${details.server}`}`;
  if (head.status >= 500) {
    return {
      isHealthy: false,
      summary,
      details,
      probeMs,
      problem: `the HTTP server answered ${head.status}: it is up but failing; look at its own logs`,
    };
  }
  return { isHealthy: true, summary, details, probeMs };
}

function notHttp(problem: string): ProbeResult {
  return { isHealthy: false, summary: "no HTTP answer", details: {}, probeMs: null, problem };
}
