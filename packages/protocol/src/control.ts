import { z } from "zod";
import { encodeFrame, ProtocolError } from "./codec.js";
import { FrameType } from "./frame-types.js";
import { MAX_CONTROL_PAYLOAD, MAX_E2E_HANDSHAKE_BYTES } from "./limits.js";

/** A stream window limit in bytes, as hello and OPEN state it (a u32 on the wire elsewhere). */
const streamWindowLimit = z
  .number()
  .int()
  .positive()
  .max(2 ** 32 - 1);

/** Agent -> hub, first frame on a new connection. */
export const helloMessage = z.object({
  type: z.literal("hello"),
  versions: z.array(z.number().int().positive()).min(1).max(16),
  agentVersion: z.string().max(64),
  /** The largest stream window this agent accepts as a sender; absent: LEGACY_MAX_STREAM_WINDOW. */
  maxStreamWindow: streamWindowLimit.optional(),
  /**
   * A random id of this agent process, the same on every reconnect: tells the hub a reconnect
   * from a second process using the same token (a copied credential). Absent from older agents.
   */
  instance: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9-]+$/)
    .optional(),
});

/** Hub -> agent, answer to hello: the agreed version and who the hub thinks we are. */
export const welcomeMessage = z.object({
  type: z.literal("welcome"),
  version: z.number().int().positive(),
  agentId: z.string(),
  workspaceId: z.string(),
  label: z.string(),
  tokenExpiresAt: z.string(),
  /** The hub's own version (its package's), for the agent to log and show; absent from older hubs. */
  hubVersion: z.string().max(64).optional(),
  /**
   * What this hub does beyond protocol 1: "e2e" when it carries end-to-end handshakes in OPEN and
   * OPEN_OK. Absent from older hubs, which drop them: agents then encrypt nothing end to end.
   */
  features: z.array(z.string().max(32)).max(32).optional(),
});

/** The feature a hub names in its welcome when it relays end-to-end handshakes. */
export const E2E_FEATURE = "e2e";

/** Hub -> agent, something the user should see (token expiring, IP change). */
export const noticeMessage = z.object({
  type: z.literal("notice"),
  level: z.enum(["info", "warning"]),
  code: z.string().max(64),
  message: z.string().max(1024),
});

/** Either side, just before it closes the connection: why. */
export const errorMessage = z.object({
  type: z.literal("error"),
  code: z.string().max(64),
  message: z.string().max(1024),
});

/** Hub -> agent: the hub is going away; reconnect (to it or another hub). */
export const goAwayMessage = z.object({
  type: z.literal("goaway"),
  reason: z.string().max(256),
});

export const controlMessage = z.discriminatedUnion("type", [
  helloMessage,
  welcomeMessage,
  noticeMessage,
  errorMessage,
  goAwayMessage,
]);

export type HelloMessage = z.infer<typeof helloMessage>;
export type WelcomeMessage = z.infer<typeof welcomeMessage>;
export type NoticeMessage = z.infer<typeof noticeMessage>;
export type ErrorMessage = z.infer<typeof errorMessage>;
export type GoAwayMessage = z.infer<typeof goAwayMessage>;
export type ControlMessage = z.infer<typeof controlMessage>;

/**
 * OPEN payload. From a reaching agent: the service name it wants (and optionally the
 * workspace a share comes from). From the hub to the exposing agent: only the service
 * name; the exposing agent maps it to the target it registered itself, so the hub can
 * never make an agent dial a host of the hub's choosing, plus how far the exposing agent may
 * grow this stream's window (what both agents accept; absent: LEGACY_MAX_STREAM_WINDOW).
 */
/** An end-to-end handshake message, base64url in JSON (the hub never reads it). */
export const e2eHandshakeText = z
  .string()
  .min(1)
  .max(Math.ceil((MAX_E2E_HANDSHAKE_BYTES * 4) / 3))
  .regex(/^[A-Za-z0-9_-]+$/, "handshake must be base64url");

/** Agent and workspace ids are UUIDs; 64 leaves room without letting anything large through. */
const agentOrWorkspaceId = z.string().min(1).max(64);

export const openRequest = z.object({
  service: z.string().min(1).max(63),
  from: z.string().min(1).max(63).optional(),
  maxWindow: streamWindowLimit.optional(),
  /**
   * The end-to-end handshake's first message. From the reaching agent, with `to`: the exposing
   * agent it was made for (the hub refuses with E2E_PEER_CHANGED when another one serves the
   * service now). From the hub to the exposing agent, without `to`.
   */
  e2e: z.object({ to: agentOrWorkspaceId.optional(), handshake: e2eHandshakeText }).optional(),
  /**
   * From the hub to the exposing agent: the reaching agent, as the hub authenticated it. The
   * exposing agent binds it into the handshake and checks the key it presents against its pin.
   * Absent for a public link's stream.
   */
  peer: z.object({ agentId: agentOrWorkspaceId, workspaceId: agentOrWorkspaceId, label: z.string().max(200) }).optional(),
});
export type OpenRequest = z.infer<typeof openRequest>;

function parseJsonPayload<T>(schema: z.ZodType<T>, payload: Buffer, what: string): T {
  if (payload.length > MAX_CONTROL_PAYLOAD) throw new ProtocolError(`${what} payload too large`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new ProtocolError(`${what} payload is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ProtocolError(`invalid ${what}: ${parsed.error.issues[0]?.message ?? "bad shape"}`);
  return parsed.data;
}

export function decodeControl(payload: Buffer): ControlMessage {
  return parseJsonPayload(controlMessage, payload, "control message");
}

export function encodeControl(message: ControlMessage): Buffer {
  return encodeFrame(FrameType.CONTROL, 0, Buffer.from(JSON.stringify(message), "utf8"));
}

export function decodeOpen(payload: Buffer): OpenRequest {
  return parseJsonPayload(openRequest, payload, "OPEN request");
}

export function encodeOpen(streamId: number, request: OpenRequest): Buffer {
  return encodeFrame(FrameType.OPEN, streamId, Buffer.from(JSON.stringify(request), "utf8"));
}

/** Picks the newest version both sides speak, or undefined when there is none. */
export function negotiateVersion(offered: readonly number[], supported: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const version of offered) {
    if (supported.includes(version) && (best === undefined || version > best)) best = version;
  }
  return best;
}
