import { once } from "node:events";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { CloseCode, decodeControl, encodeControl, FrameType, forEachFrame, PROTOCOL_VERSIONS } from "@private-connect/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { AGENT_VERSION } from "../version.js";
import { TunnelClient, TunnelFatalError } from "./tunnel-client.js";

const TOKEN = "1".repeat(64);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A relay that answers the first hello with `answer`; resolves the hello it got. */
async function startRelay(answer: (socket: WebSocket) => void): Promise<{ url: string; hello: Promise<unknown> }> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/relay" });
  await once(server, "listening");
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const socket of server.clients) socket.terminate();
        server.close(() => resolve());
      }),
  );
  const hello = new Promise<unknown>((resolve) => {
    server.once("connection", (socket) => {
      socket.once("message", (data: Buffer) => {
        forEachFrame(data, (type, _streamId, payload) => {
          if (type === FrameType.CONTROL) resolve(decodeControl(Buffer.from(payload)));
        });
        answer(socket);
      });
    });
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hello };
}

/** Starts a tunnel and resolves the error it gives up with. */
function runUntilFatal(url: string): Promise<TunnelFatalError> {
  return new Promise((resolve) => {
    const tunnel = new TunnelClient({ hubUrl: url, token: TOKEN, resolveTarget: () => undefined, onFatal: resolve });
    cleanups.push(() => tunnel.close());
    tunnel.start();
  });
}

function refuse(message: string) {
  return (socket: WebSocket) => {
    socket.send(encodeControl({ type: "error", code: "unsupported_version", message }));
    socket.close(CloseCode.UNSUPPORTED_VERSION, "unsupported protocol version");
  };
}

describe("TunnelClient and versions", () => {
  it("states this package's version in its hello", async () => {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const relay = await startRelay(refuse("no"));
    void runUntilFatal(relay.url);
    expect(await relay.hello).toMatchObject({ type: "hello", agentVersion: manifest.version, versions: [...PROTOCOL_VERSIONS] });
    expect(AGENT_VERSION).toBe(manifest.version);
  });

  it("gives up with a current hub's refusal as it was sent: it already names both versions", async () => {
    const message = `Hub 2.0.0 (protocol 2) cannot talk to agent ${AGENT_VERSION} (protocol 1): upgrade the connect agent to 2.0.0 or later`;
    const relay = await startRelay(refuse(message));
    const error = await runUntilFatal(relay.url);
    expect(error).toBeInstanceOf(TunnelFatalError);
    expect(error.code).toBe("unsupported_version");
    expect(error.message).toBe(message);
  });

  it("adds its own version to an older hub's refusal, which names only the hub's protocol", async () => {
    const relay = await startRelay(refuse("This hub speaks protocol 2: upgrade the connect agent"));
    const error = await runUntilFatal(relay.url);
    expect(error.message).toBe(
      `This hub speaks protocol 2: upgrade the connect agent (this agent: connect ${AGENT_VERSION}, protocol ${PROTOCOL_VERSIONS.join(", ")})`,
    );
  });

  it("keeps the hub's version from its welcome", async () => {
    const relay = await startRelay((socket) =>
      socket.send(
        encodeControl({
          type: "welcome",
          version: 1,
          agentId: "a",
          workspaceId: "w",
          label: "l",
          tokenExpiresAt: "2030-01-01T00:00:00.000Z",
          hubVersion: "3.1.4",
        }),
      ),
    );
    const tunnel = new TunnelClient({ hubUrl: relay.url, token: TOKEN, resolveTarget: () => undefined });
    cleanups.push(() => tunnel.close());
    tunnel.start();
    expect(await tunnel.waitConnected(5000)).toMatchObject({ hubVersion: "3.1.4", protocolVersion: 1 });
  });
});
