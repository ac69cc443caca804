import type { Socket } from "node:net";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { formatPrintableBytes, formatPrintableText } from "./printable-bytes.js";
import { describeNoAnswer, elapsedSince, type Probe, type ProbeOptions, type ProbeResult } from "./probe.js";
import { SocketReader } from "./socket-reader.js";

/** The user the probe says it is: one nobody has, so the server answers without any password. */
export const POSTGRES_CHECK_USER = "connect_check";
/** The startup answer is a few small messages; a server sending more is not one to keep reading. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** A single message of the startup answer is never near this; a bigger length field is garbage. */
const MAX_MESSAGE_BYTES = 16 * 1024;
const SSL_REQUEST_CODE = 80877103;
const PROTOCOL_3_0 = 196608;

const AUTH_METHODS: Record<number, string> = {
  0: "none (trusted)",
  2: "kerberos",
  3: "password",
  5: "md5",
  7: "gss",
  9: "sspi",
  10: "sasl",
};

export function encodeSslRequest(): Buffer {
  const message = Buffer.alloc(8);
  message.writeInt32BE(8, 0);
  message.writeInt32BE(SSL_REQUEST_CODE, 4);
  return message;
}

export function encodeStartupMessage(user: string): Buffer {
  const pairs = ["user", user, "database", user, "application_name", "connect check"];
  const body = Buffer.concat([...pairs.map((text) => Buffer.from(`${text}\u0000`, "utf8")), Buffer.from([0])]);
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt32BE(PROTOCOL_3_0, 4);
  return Buffer.concat([header, body]);
}

interface BackendMessage {
  type: string;
  body: Buffer;
}

/** The first whole message in `bytes`, its total size; "garbage" for a length no server sends. */
function peekMessage(bytes: Buffer): { message: BackendMessage; size: number } | "partial" | "garbage" {
  if (bytes.length < 5) return "partial";
  const length = bytes.readInt32BE(1);
  if (length < 4 || length > MAX_MESSAGE_BYTES) return "garbage";
  if (bytes.length < 1 + length) return "partial";
  return { message: { type: String.fromCharCode(bytes[0] ?? 0), body: bytes.subarray(5, 1 + length) }, size: 1 + length };
}

/** The fields of an ErrorResponse or NoticeResponse, by their one-letter codes. */
export function parseErrorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset] ?? 0);
    const end = body.indexOf(0, offset + 1);
    if (end === -1) break;
    fields.set(code, body.toString("utf8", offset + 1, end));
    offset = end + 1;
  }
  return fields;
}

/**
 * PostgreSQL: an SSLRequest and its one-byte answer, then (over TLS when the server said 'S') a
 * StartupMessage for a user nobody has. Whatever the server answers (which authentication it
 * wants, or an error such as 'role "connect_check" does not exist') proves a live PostgreSQL;
 * the probe never sends a password and hangs up at the first authentication request.
 */
export const probePostgres: Probe = async (socket, options) => {
  const startedAt = performance.now();
  const reader = new SocketReader(socket, MAX_ANSWER_BYTES);
  socket.write(encodeSslRequest());
  const sslOutcome = await reader.wait((bytes) => bytes.length >= 1, options.deadline);
  if (sslOutcome !== "complete") return notPostgres(describeNoAnswer(sslOutcome, "the answer to the SSLRequest", reader.error));
  const answer = reader.take(1)[0];
  if (answer !== 0x53 && answer !== 0x4e) {
    return notPostgres(
      `the service answered ${formatPrintableBytes(Buffer.from([answer ?? 0]))} to an SSLRequest, where PostgreSQL says S or N: it is not PostgreSQL`,
    );
  }
  const isTls = answer === 0x53;
  // A server must say nothing more before the client's next step; bytes here were not sent by PostgreSQL.
  if (reader.bytes.length > 0) return notPostgres("the service sent more than the one-byte answer to an SSLRequest");
  let startup: { reader: SocketReader; socket: Socket };
  if (isTls) {
    const secured = await startTls(socket, options);
    if (typeof secured === "string")
      return notPostgres(`PostgreSQL said it speaks TLS, then the TLS handshake failed: ${secured}`);
    startup = { socket: secured, reader: new SocketReader(secured, MAX_ANSWER_BYTES) };
  } else {
    startup = { socket, reader };
  }
  startup.socket.write(encodeStartupMessage(POSTGRES_CHECK_USER));
  return readStartupAnswer(startup.reader, options, { isTls, startedAt });
};

async function readStartupAnswer(
  reader: SocketReader,
  options: ProbeOptions,
  context: { isTls: boolean; startedAt: number },
): Promise<ProbeResult> {
  const details: ProbeResult["details"] = { tls: context.isTls };
  for (;;) {
    const outcome = await reader.wait((bytes) => peekMessage(bytes) !== "partial", options.deadline);
    if (outcome !== "complete") {
      return notPostgres(describeNoAnswer(outcome, "the answer to the startup message", reader.error), details);
    }
    const peeked = peekMessage(reader.bytes);
    if (peeked === "partial") continue;
    if (peeked === "garbage") {
      return notPostgres(
        `the service answered the startup message with bytes PostgreSQL does not send: ${formatPrintableBytes(reader.bytes.subarray(0, 16))}`,
        details,
      );
    }
    reader.take(peeked.size);
    const { type, body } = peeked.message;
    switch (type) {
      case "R": {
        const code = body.length >= 4 ? body.readInt32BE(0) : -1;
        if (code !== 0) {
          details.auth = describeAuth(code, body);
          return answered(`PostgreSQL asks for ${details.auth} authentication`, details, context);
        }
        details.auth = AUTH_METHODS[0] ?? "none";
        break;
      }
      case "E": {
        const fields = parseErrorFields(body);
        const message = formatPrintableText(fields.get("M") ?? "an error");
        const code = fields.get("C");
        if (code !== undefined) details.errorCode = formatPrintableText(code, 5);
        // Starting up, shutting down, in recovery, too many clients: a live PostgreSQL, but one
        // that serves nobody now.
        if (code === "57P03" || code === "53300" || code === "57P01") {
          return {
            isHealthy: false,
            summary: `PostgreSQL answered: ${message}`,
            details,
            probeMs: elapsedSince(context.startedAt),
            problem: `PostgreSQL is up but refuses connections now: ${message}`,
          };
        }
        return answered(`PostgreSQL answered: ${message}`, details, context);
      }
      case "S": {
        const end = body.indexOf(0);
        const name = end === -1 ? "" : body.toString("utf8", 0, end);
        const valueEnd = end === -1 ? -1 : body.indexOf(0, end + 1);
        if (name === "server_version" && valueEnd !== -1)
          details.version = formatPrintableText(body.toString("utf8", end + 1, valueEnd), 64);
        break;
      }
      case "Z":
        return answered(
          `PostgreSQL${details.version === undefined ? "" : ` ${details.version}`} let ${POSTGRES_CHECK_USER} in without a password`,
          details,
          context,
        );
      case "K":
      case "N":
      case "v":
        break;
      default:
        return notPostgres(
          `the service answered the startup message with a message PostgreSQL does not send first (${formatPrintableText(type)})`,
          details,
        );
    }
  }
}

function describeAuth(code: number, body: Buffer): string {
  const method = AUTH_METHODS[code] ?? `type ${code}`;
  if (code !== 10) return method;
  // SASL names its mechanisms (SCRAM-SHA-256...): the more useful answer.
  const mechanisms = body
    .subarray(4)
    .toString("utf8")
    .split("\u0000")
    .filter((name) => name !== "");
  return mechanisms.length === 0 ? method : formatPrintableText(mechanisms.join(", "), 100);
}

function startTls(socket: Socket, options: ProbeOptions): Promise<TLSSocket | string> {
  return new Promise((resolve) => {
    // Checking identity is not the point here (the TLS probe does that): only that it speaks TLS.
    const secured = connectTls({ socket, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    const timer = setTimeout(() => {
      secured.destroy();
      resolve("no handshake within the timeout");
    }, options.deadline.remainingMs());
    secured.once("secureConnect", () => {
      clearTimeout(timer);
      resolve(secured);
    });
    secured.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? error.message);
    });
  });
}

function answered(summary: string, details: ProbeResult["details"], context: { startedAt: number }): ProbeResult {
  return { isHealthy: true, summary, details, probeMs: elapsedSince(context.startedAt) };
}

function notPostgres(problem: string, details: ProbeResult["details"] = {}): ProbeResult {
  return { isHealthy: false, summary: "no PostgreSQL answer", details, probeMs: null, problem };
}
