import { z } from "zod";
import { encodeFrame, ProtocolError } from "./codec.js";
import { e2eHandshakeText, openRequest } from "./control.js";
import { FrameType } from "./frame-types.js";
import { MAX_CONTROL_PAYLOAD } from "./limits.js";

/** Agent, workspace and share ids are cuids or UUIDs: anything longer is not one of ours. */
const id = z.string().min(1).max(64);
/** Labels are display text chosen by users; they ride along for the serving hub's logs and counts. */
const label = z.string().max(200);

/**
 * OPEN payload on a peer connection (hub to hub). The opening hub already authorized the open
 * with the one authorization function; this says what it decided, so the hub holding the
 * exposing agent can route it without asking the database again:
 * - `agentId`/`service`: the exposing agent and its own name for the service;
 * - `workspaceId`: the exposing agent's workspace (the serving hub checks the agent is in it);
 * - `maxWindow`: the opening side's window limit; the serving hub agrees on the smaller of it
 *   and its agent's, and states the result in its OPEN_OK;
 * - `share`: set for a stream through a share, whose revocation or expiry ends it on both hubs;
 * - `e2e`: the reaching agent's end-to-end handshake, for the exposing agent;
 * - `client`: who reaches, for the serving hub's traffic counts and logs, and for the exposing
 *   agent's end-to-end handshake, which binds the reaching agent's ids.
 */
export const peerOpenRequest = z.object({
  agentId: id,
  service: openRequest.shape.service,
  workspaceId: id,
  maxWindow: z
    .number()
    .int()
    .positive()
    .max(2 ** 32 - 1),
  share: z.object({ id, expiresAt: z.iso.datetime({ offset: true }) }).optional(),
  /** The reaching agent's end-to-end handshake message, passed on to the exposing agent unread. */
  e2e: z.object({ handshake: e2eHandshakeText }).optional(),
  client: z.discriminatedUnion("kind", [
    // workspaceId: absent from hubs older than end-to-end encryption.
    z.object({ kind: z.literal("agent"), agentId: id, label, workspaceId: id.optional() }),
    z.object({ kind: z.literal("link"), label }),
  ]),
});
export type PeerOpenRequest = z.infer<typeof peerOpenRequest>;

/** An OPEN frame for stream `streamId` of a peer connection. Throws ProtocolError on a request outside the schema. */
export function encodePeerOpen(streamId: number, request: PeerOpenRequest): Buffer {
  const parsed = peerOpenRequest.safeParse(request);
  if (!parsed.success) throw new ProtocolError(`invalid peer OPEN: ${describeIssue(parsed.error)}`);
  return encodeFrame(FrameType.OPEN, streamId, Buffer.from(JSON.stringify(parsed.data), "utf8"));
}

/** Parses the payload of an OPEN frame received on a peer connection. Throws ProtocolError on anything else. */
export function decodePeerOpen(payload: Buffer): PeerOpenRequest {
  if (payload.length > MAX_CONTROL_PAYLOAD) throw new ProtocolError("peer OPEN payload too large");
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new ProtocolError("peer OPEN payload is not JSON");
  }
  const parsed = peerOpenRequest.safeParse(value);
  if (!parsed.success) throw new ProtocolError(`invalid peer OPEN: ${describeIssue(parsed.error)}`);
  return parsed.data;
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "bad shape";
  return issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message;
}
