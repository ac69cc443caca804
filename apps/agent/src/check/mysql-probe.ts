import { formatPrintableBytes, formatPrintableText } from "./printable-bytes.js";
import { describeNoAnswer, elapsedSince, type Probe, type ProbeResult } from "./probe.js";
import { SocketReader } from "./socket-reader.js";

/** A greeting is about a hundred bytes; the packet length field allows 16 MiB, which nobody greets with. */
const MAX_GREETING_BYTES = 4 * 1024;
const CLIENT_SSL = 0x0800;
/** MariaDB puts this in front of its version for clients that only know MySQL 5. */
const MARIADB_COMPAT_PREFIX = "5.5.5-";

export interface MysqlGreeting {
  kind: "greeting";
  protocolVersion: number;
  /** As the server means it: MariaDB's compatibility prefix removed. */
  version: string;
  server: "MariaDB" | "MySQL";
  connectionId?: number;
  isTlsOffered?: boolean;
  authPlugin?: string;
}

export interface MysqlRefusal {
  kind: "error";
  code: number;
  message: string;
}

/** The length of the first packet's payload once its header is in, or undefined before. */
function readPacketLength(bytes: Buffer): number | undefined {
  return bytes.length < 4 ? undefined : (bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8) | ((bytes[2] ?? 0) << 16);
}

/** The server's first packet: the initial handshake (protocol 10), an error packet, or undefined for anything else. */
export function parseMysqlGreeting(payload: Buffer): MysqlGreeting | MysqlRefusal | undefined {
  const first = payload[0];
  if (first === 0xff && payload.length >= 3) {
    // Refused before the handshake ("Host is not allowed", "Too many connections"): no SQL state here.
    return { kind: "error", code: payload.readUInt16LE(1), message: payload.toString("utf8", 3) };
  }
  if (first !== 10) return undefined;
  const versionEnd = payload.indexOf(0, 1);
  if (versionEnd === -1 || versionEnd > 100) return undefined;
  const raw = payload.toString("utf8", 1, versionEnd);
  if (!/^\d+\.\d+/.test(raw)) return undefined;
  const isMariaDb = /mariadb/i.test(raw);
  const version = isMariaDb && raw.startsWith(MARIADB_COMPAT_PREFIX) ? raw.slice(MARIADB_COMPAT_PREFIX.length) : raw;
  const greeting: MysqlGreeting = { kind: "greeting", protocolVersion: 10, version, server: isMariaDb ? "MariaDB" : "MySQL" };
  // After the version: connection id (4), auth data part 1 (8), filler (1), capabilities (2).
  const at = versionEnd + 1;
  if (payload.length >= at + 15) {
    greeting.connectionId = payload.readUInt32LE(at);
    greeting.isTlsOffered = (payload.readUInt16LE(at + 13) & CLIENT_SSL) !== 0;
  }
  // Then charset (1), status (2), capabilities (2), auth data length (1), reserved (10), auth data part 2 (>= 13), plugin name.
  const partTwoAt = at + 15 + 16;
  const authDataLength = payload[at + 15 + 5] ?? 0;
  const pluginAt = partTwoAt + Math.max(13, authDataLength - 8);
  const pluginEnd = payload.indexOf(0, pluginAt);
  if (pluginAt < payload.length) {
    const plugin = payload.toString("utf8", pluginAt, pluginEnd === -1 ? payload.length : pluginEnd);
    if (/^[a-z0-9_]{1,64}$/i.test(plugin)) greeting.authPlugin = plugin;
  }
  return greeting;
}

/**
 * MySQL and MariaDB: the server speaks first with its handshake packet; the probe reads it
 * (protocol version 10, the server's version) and hangs up without logging in.
 */
export const probeMysql: Probe = async (socket, options) => {
  const startedAt = performance.now();
  const reader = new SocketReader(socket, MAX_GREETING_BYTES);
  const isWhole = (bytes: Buffer) => {
    const length = readPacketLength(bytes);
    return length !== undefined && (length > MAX_GREETING_BYTES - 4 || bytes.length >= 4 + length);
  };
  const outcome = await reader.wait(isWhole, options.deadline);
  if (outcome !== "complete") return notMysql(describeNoAnswer(outcome, "the MySQL greeting", reader.error));
  const length = readPacketLength(reader.bytes) ?? 0;
  if (length > MAX_GREETING_BYTES - 4) {
    return notMysql(`the service's first packet claims ${length} bytes, far more than a MySQL greeting: it is not MySQL`);
  }
  const parsed = parseMysqlGreeting(reader.bytes.subarray(4, 4 + length));
  const probeMs = elapsedSince(startedAt);
  if (parsed === undefined) {
    return notMysql(
      `the service's first bytes are not a MySQL greeting (protocol 10 and a version): ${formatPrintableBytes(reader.bytes, 32)}`,
    );
  }
  if (parsed.kind === "error") {
    const message = formatPrintableText(parsed.message);
    return {
      isHealthy: false,
      summary: `MySQL refused the connection: ${message}`,
      details: { errorCode: parsed.code },
      probeMs,
      problem: `MySQL (or MariaDB) answered but refuses connections from the exposing agent: ${message} (error ${parsed.code})`,
    };
  }
  const version = formatPrintableText(parsed.version, 100);
  const details: ProbeResult["details"] = { server: parsed.server, version, protocolVersion: parsed.protocolVersion };
  if (parsed.connectionId !== undefined) details.connectionId = parsed.connectionId;
  if (parsed.isTlsOffered !== undefined) details.tls = parsed.isTlsOffered;
  if (parsed.authPlugin !== undefined) details.authPlugin = parsed.authPlugin;
  return { isHealthy: true, summary: `${parsed.server} ${version} greeted`, details, probeMs };
};

function notMysql(problem: string): ProbeResult {
  return { isHealthy: false, summary: "no MySQL greeting", details: {}, probeMs: null, problem };
}
