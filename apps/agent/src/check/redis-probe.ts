import { formatPrintableBytes, formatPrintableText } from "./printable-bytes.js";
import { describeNoAnswer, elapsedSince, type Probe, type ProbeResult } from "./probe.js";
import { SocketReader } from "./socket-reader.js";

/** A PING answer is one short line; INFO server is a few KiB. */
const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 1024;

const PING = Buffer.from("*1\r\n$4\r\nPING\r\n");
const INFO_SERVER = Buffer.from("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");

function hasLine(bytes: Buffer): boolean {
  return bytes.indexOf("\r\n") !== -1 || bytes.length > MAX_LINE_BYTES;
}

/** A RESP bulk string ($N\r\n...\r\n) whole in `bytes`: its text; "partial" before; undefined if not one. */
export function readBulkString(bytes: Buffer): string | "partial" | undefined {
  const lineEnd = bytes.indexOf("\r\n");
  if (lineEnd === -1) return bytes.length > MAX_LINE_BYTES ? undefined : "partial";
  if (bytes[0] !== 0x24) return undefined;
  const length = Number(bytes.toString("latin1", 1, lineEnd));
  if (!Number.isInteger(length) || length < 0 || length > MAX_ANSWER_BYTES) return undefined;
  if (bytes.length < lineEnd + 2 + length + 2) return "partial";
  return bytes.toString("utf8", lineEnd + 2, lineEnd + 2 + length);
}

/**
 * Redis: PING, which answers +PONG (or -NOAUTH when a password is set: still Redis), then INFO
 * server for the version when the server lets us.
 */
export const probeRedis: Probe = async (socket, options) => {
  const startedAt = performance.now();
  const reader = new SocketReader(socket, MAX_ANSWER_BYTES);
  socket.write(PING);
  const outcome = await reader.wait(hasLine, options.deadline);
  if (outcome !== "complete") return notRedis(describeNoAnswer(outcome, "the answer to PING", reader.error));
  const lineEnd = reader.bytes.indexOf("\r\n");
  if (lineEnd === -1)
    return notRedis(`the service answered PING with a line longer than Redis sends: ${formatPrintableBytes(reader.bytes, 32)}`);
  const line = reader.take(lineEnd + 2).toString("utf8", 0, lineEnd);
  const probeMs = elapsedSince(startedAt);
  if (line === "+PONG") {
    const details: ProbeResult["details"] = { auth: "none" };
    const version = await readVersion(socket, reader, options);
    if (version !== undefined) details.version = version;
    return { isHealthy: true, summary: `Redis${version === undefined ? "" : ` ${version}`} answered PONG`, details, probeMs };
  }
  if (line.startsWith("-NOAUTH") || line.startsWith("-WRONGPASS")) {
    return { isHealthy: true, summary: "Redis answered: it needs a password (NOAUTH)", details: { auth: "required" }, probeMs };
  }
  if (line.startsWith("-")) {
    const message = formatPrintableText(line.slice(1));
    return {
      isHealthy: false,
      summary: `Redis answered an error: ${message}`,
      details: {},
      probeMs,
      problem: `Redis answered PING with an error, so it serves no client like this one: ${message}`,
    };
  }
  return notRedis(`the service answered PING with ${formatPrintableBytes(Buffer.from(line), 32)}, not +PONG: it is not Redis`);
};

async function readVersion(
  socket: import("node:net").Socket,
  reader: SocketReader,
  options: Parameters<Probe>[1],
): Promise<string | undefined> {
  socket.write(INFO_SERVER);
  const outcome = await reader.wait((bytes) => readBulkString(bytes) !== "partial", options.deadline);
  if (outcome !== "complete") return undefined;
  const info = readBulkString(reader.bytes);
  if (info === undefined || info === "partial") return undefined;
  const match = /^redis_version:([^\r\n]{1,64})/m.exec(info);
  return match?.[1] === undefined ? undefined : formatPrintableText(match[1], 64);
}

function notRedis(problem: string): ProbeResult {
  return { isHealthy: false, summary: "no Redis answer", details: {}, probeMs: null, problem };
}
