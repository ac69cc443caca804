import type { Socket } from "node:net";
import type { TunnelLike } from "../sdk/agent.js";
import type { TunnelOptions, TunnelState, WelcomeInfo } from "../tunnel/tunnel-client.js";

/**
 * Relay stand-in for daemon and command tests: "connects" on start, remembers the options
 * (so a test can use the target resolver the agent gave it) and every token it was handed,
 * and notes whether it was closed: a rotation must never restart or close it.
 */
export class FakeTunnel implements TunnelLike {
  currentState: TunnelState = "disconnected";
  readonly tokens: string[] = [];
  closed = false;

  constructor(
    readonly options: TunnelOptions,
    private readonly streams = 0,
  ) {
    this.tokens.push(options.token);
  }

  get state(): TunnelState {
    return this.currentState;
  }

  get welcome(): WelcomeInfo | undefined {
    return undefined;
  }

  start(): void {
    this.currentState = "connected";
    this.options.onStateChange?.("connected");
  }

  async waitConnected(): Promise<WelcomeInfo> {
    return {
      agentId: "agent-1",
      workspaceId: "ws-1",
      label: "server",
      tokenExpiresAt: "",
      protocolVersion: 1,
      relaysEndToEnd: true,
    };
  }

  openStream(socket: Socket): void {
    socket.destroy();
  }

  activeStreams(): number {
    return this.streams;
  }

  setToken(token: string): void {
    this.tokens.push(token);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.currentState = "closed";
  }
}
