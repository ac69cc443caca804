// Agent revocation in the relay, over real WebSockets on loopback with an in-memory authority:
// the races a database-backed test cannot pin down (an open or an upgrade whose authorization
// was already in flight when the revocation arrived), and the sweep that catches revocations
// made outside this process.
import { OpenRefusal, type RelayAuthority } from "@private-connect/hub";
import { CloseCode, decodeControl, decodeReset, encodeOpen, FrameType, ResetCode } from "@private-connect/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type InProcessRelay,
  openRawRelayClient,
  type RawRelayClient,
  startInProcessRelay,
} from "../support/in-process-relay.ts";

const WORKSPACE = "ws-acme";
const REASON = "This agent was revoked by an owner of Acme: ask them to let you in again";
const tokens: Record<string, string> = {
  "token-server": "a-server",
  "token-laptop": "a-laptop",
  "token-late": "a-late",
  "token-swept": "a-swept",
  "token-kept": "a-kept",
};

type StreamGrant = Awaited<ReturnType<RelayAuthority["authorizeOpen"]>>;

/** A promise the test settles itself, and one that says the hub is now waiting on it. */
function createGate<T>() {
  let release: (value: T) => void = () => {};
  let markReached: () => void = () => {};
  const released = new Promise<T>((resolve) => {
    release = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    markReached = resolve;
  });
  return { released, release, reached, markReached };
}

/** The next stream authorization and the next authentication of a-late wait on these. */
let openGate = createGate<StreamGrant>();
let authenticationGate: ReturnType<typeof createGate<void>> | undefined;
const revokedElsewhere = new Set<string>();
let isDatabaseDown = false;

const authority: RelayAuthority = {
  async authenticateAgent(bearer) {
    const agentId = tokens[bearer];
    if (agentId === undefined) throw new OpenRefusal(ResetCode.SERVICE_NOT_FOUND, "Invalid credentials");
    if (agentId === "a-late" && authenticationGate) {
      authenticationGate.markReached();
      await authenticationGate.released;
    }
    return {
      agentId,
      workspaceId: WORKSPACE,
      label: agentId,
      clientType: "cli",
      tokenExpiresAt: new Date(Date.now() + 86_400_000),
    };
  },
  authorizeOpen() {
    openGate.markReached();
    return openGate.released;
  },
  async readRevocation(agent) {
    if (isDatabaseDown) throw new Error("database unavailable");
    return revokedElsewhere.has(agent.agentId) ? REASON : undefined;
  },
};

let hub: InProcessRelay;

beforeAll(async () => {
  hub = await startInProcessRelay(authority);
});

afterAll(async () => {
  await hub?.stop();
});

/** Resolves when the client has received a frame matching `predicate`, or fails after 5 s. */
function nextFrame(client: RawRelayClient, predicate: (frame: RawRelayClient["frames"][number]) => boolean) {
  return new Promise<RawRelayClient["frames"][number]>((resolve, reject) => {
    const found = client.frames.find(predicate);
    if (found) return resolve(found);
    const timer = setTimeout(() => reject(new Error("no such frame within 5 s")), 5_000);
    const onMessage = () => {
      const match = client.frames.find(predicate);
      if (!match) return;
      clearTimeout(timer);
      client.ws.off("message", onMessage);
      resolve(match);
    };
    // Registered after openRawRelayClient's own listener, so `frames` already holds the message.
    client.ws.on("message", onMessage);
  });
}

function closeOf(client: RawRelayClient): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => client.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })));
}

async function connectReady(token: string): Promise<RawRelayClient> {
  const client = await openRawRelayClient(hub.url, token, { maxStreamWindow: 256 * 1024 });
  await nextFrame(client, (frame) => frame.type === FrameType.CONTROL && decodeControl(frame.payload).type === "welcome");
  return client;
}

describe("agent revocation in the relay", () => {
  it("refuses, as revoked, an open whose authorization was in flight when its target was revoked", async () => {
    const server = await connectReady("token-server");
    const laptop = await connectReady("token-laptop");
    const serverClosed = closeOf(server);
    openGate = createGate<StreamGrant>();
    laptop.ws.send(encodeOpen(1, { service: "echo" }));
    await openGate.reached;

    expect(hub.relay.closeRevokedAgent("a-server", REASON)).toBe(1);
    // The control plane answered before it knew: the grant names the agent just revoked.
    openGate.release({ agentId: "a-server", serviceName: "echo", workspaceId: "ws-1" });

    const reset = await nextFrame(laptop, (frame) => frame.type === FrameType.RST && frame.streamId === 1);
    expect(decodeReset(reset.payload)).toEqual({
      code: ResetCode.REVOKED,
      reason: "Service echo is offline: its agent was revoked",
    });
    expect(await serverClosed).toEqual({ code: CloseCode.AGENT_REVOKED, reason: REASON });
    const errors = server.frames
      .filter((frame) => frame.type === FrameType.CONTROL)
      .map((frame) => decodeControl(frame.payload))
      .filter((message) => message.type === "error");
    expect(errors).toEqual([{ type: "error", code: "agent_revoked", message: REASON }]);
    // Nothing was routed to the revoked agent.
    expect(server.frames.some((frame) => frame.type === FrameType.OPEN)).toBe(false);
    expect(hub.relay.isAgentOnline("a-server")).toBe(false);
    laptop.ws.terminate();
  });

  it("refuses an upgrade whose authentication was in flight when the agent was revoked", async () => {
    const gate = createGate<void>();
    authenticationGate = gate;
    const attempt = openRawRelayClient(hub.url, "token-late").then(
      () => "connected",
      (error: unknown) => String(error),
    );
    // The upgrade is in authenticateAgent when the revocation lands.
    await gate.reached;
    hub.relay.closeRevokedAgent("a-late", REASON);
    gate.release();
    authenticationGate = undefined;
    expect(await attempt).toMatch(/401/);
    expect(hub.relay.isAgentOnline("a-late")).toBe(false);
  });

  it("closes, at the next sweep, an agent revoked by another process; keeps the rest, and judges no one on no answer", async () => {
    const swept = await connectReady("token-swept");
    const kept = await connectReady("token-kept");
    const sweptClosed = closeOf(swept);
    revokedElsewhere.add("a-swept");

    isDatabaseDown = true;
    expect(await hub.relay.sweepRevocations()).toBe(0);
    expect(hub.relay.isAgentOnline("a-swept")).toBe(true);

    isDatabaseDown = false;
    expect(await hub.relay.sweepRevocations()).toBe(1);
    expect(await sweptClosed).toEqual({ code: CloseCode.AGENT_REVOKED, reason: REASON });
    expect(hub.relay.isAgentOnline("a-kept")).toBe(true);
    kept.ws.terminate();
  });
});
