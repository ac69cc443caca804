import type { Socket } from "node:net";
import { ResetCode } from "@private-connect/protocol";
import { normalizeHubUrl } from "../config/hub-url.js";
import type { AgentIdentity } from "../config/identity.js";
import type { Exposure } from "../config/state.js";
import { readAgentEnv } from "../env.js";
import { ConnectError, describeError } from "../errors.js";
import { TunnelClient, type TunnelOptions, type TunnelState, type WelcomeInfo } from "../tunnel/tunnel-client.js";
import { type ReportActionInput, type ReportActionResult, reportActionWith } from "./audit.js";
import { type IssuedToken, type RotatedToken, rotateAgentToken } from "./credentials.js";
import { callHub, createHubClient, type HubClient } from "./hub-client.js";
import { listenForReach, type ReachListener } from "./reach-listener.js";

export type { TunnelState, WelcomeInfo };

/** The part of TunnelClient the Agent uses; lets tests and embedders supply their own. */
export type TunnelLike = Pick<
  TunnelClient,
  "start" | "waitConnected" | "state" | "welcome" | "openStream" | "activeStreams" | "close"
> &
  Partial<Pick<TunnelClient, "setToken">>;

export interface AgentOptions {
  /** http(s)://host[:port] of the hub; checked against the insecure-transport policy. */
  hubUrl: string;
  /** The agent token `Agent.register` returned. */
  token: string;
  /** Exposures to serve from the start (restored from disk); announced to the hub on every connect. */
  exposures?: readonly Exposure[];
  /** Allow http:// and ws:// to non-loopback hubs. Defaults to CONNECT_ALLOW_INSECURE. */
  isInsecureAllowed?: boolean;
  /** Ping interval towards the hub; a hub silent for two intervals is redialed. Default 15 s. */
  heartbeatMs?: number;
  onStateChange?(state: TunnelState, detail?: { reason?: string }): void;
  /**
   * The hub rejected the agent for good (its token expired, the agent was revoked); the tunnel
   * has stopped and will not redial. `isAgentRevokedError(error)` tells a revocation apart: that
   * agent's tokens never work again, so nothing should retry with them.
   */
  onFatal?(error: Error): void;
  /** Something the hub wants a person to see (a token about to expire...). */
  onNotice?: TunnelOptions["onNotice"];
  /** The hub refused or cut a connection this agent reached, with its reason. */
  onStreamReset?: TunnelOptions["onStreamReset"];
  /** A stream to a service this agent exposes could not connect to its target (refused, no such host). */
  onTargetFailure?: TunnelOptions["onTargetFailure"];
  /** Re-announcing an exposure after a (re)connect failed; the exposure stays served locally. */
  onAnnounceError?(exposure: Exposure, error: ConnectError): void;
  /** Overrides for tests and embedders. */
  hubClient?: HubClient;
  /** The control-plane client for another token (a rotation's new one); defaults to createHubClient. */
  createHubClientForToken?(token: string): HubClient;
  createTunnel?(options: TunnelOptions): TunnelLike;
}

/** What `agents.register` accepts, as the hub's router declares it. */
type RegisterInput = Parameters<HubClient["agents"]["register"]["mutate"]>[0];

export interface RegisterOptions {
  hubUrl: string;
  /** A workspace API key (`pc_...`). */
  apiKey: string;
  label: string;
  clientType?: RegisterInput["clientType"];
  isInsecureAllowed?: boolean;
}

export interface ExposeOptions {
  name: string;
  host: string;
  port: number;
}

export interface ReachOptions {
  /** Local port to listen on; 0 or omitted picks a free one. */
  port?: number;
  /** Local address to listen on; 127.0.0.1 unless you mean to share the port with your network. */
  host?: string;
  /** The workspace that shared the service, when it is not this agent's own. */
  from?: string;
  /**
   * Bind without first asking the hub whether the service exists (default false). For
   * restoring a saved reach while the hub may be away; the hub still authorizes each stream.
   */
  canSkipLookup?: boolean;
}

export interface ReachInfo {
  service: string;
  from?: string;
  host: string;
  port: number;
}

export interface AgentStatus {
  hubUrl: string;
  state: TunnelState;
  welcome: WelcomeInfo | undefined;
  exposures: Exposure[];
  reaches: ReachInfo[];
  activeStreams: number;
}

const DEFAULT_REACH_HOST = "127.0.0.1";
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

function getReachKey(service: string, from: string | undefined): string {
  return from === undefined ? service : `${from}/${service}`;
}

function resolveInsecurePolicy(value: boolean | undefined): boolean {
  return value ?? readAgentEnv().isInsecureAllowed;
}

/**
 * One agent: one relay connection to the hub, the services it exposes and the local ports it
 * reaches through. This is what `connect up` runs; a TypeScript program can run it directly.
 *
 * @example
 * const identity = await Agent.register({ hubUrl, apiKey, label: "ci" });
 * const agent = new Agent({ hubUrl, token: identity.token });
 * agent.start();
 * await agent.waitConnected();
 * const { port } = await agent.reach("prod-db");
 */
export class Agent {
  readonly hubUrl: string;
  /** Typed control-plane client authenticated as this agent. */
  readonly hub: HubClient;
  readonly #tunnel: TunnelLike;
  readonly #options: AgentOptions;
  readonly #exposures = new Map<string, Exposure>();
  readonly #reaches = new Map<string, { info: ReachInfo; listener: ReachListener }>();
  readonly #pendingReaches = new Set<string>();
  #token: string;
  #isStarted = false;
  #isStopped = false;

  /** Registers a new agent with a workspace API key and returns the identity to keep. */
  static async register(options: RegisterOptions): Promise<AgentIdentity> {
    const hubUrl = normalizeHubUrl(options.hubUrl, { isInsecureAllowed: resolveInsecurePolicy(options.isInsecureAllowed) });
    const client = createHubClient(hubUrl, options.apiKey);
    // A program using the SDK registers as "sdk" unless it says otherwise; the CLI says "cli".
    const input: RegisterInput = { label: options.label, clientType: options.clientType ?? "sdk" };
    const registered = await callHub(hubUrl, () => client.agents.register.mutate(input));
    return {
      hubUrl,
      agentId: registered.agentId,
      token: registered.token,
      tokenExpiresAt: registered.tokenExpiresAt,
      workspace: { id: registered.workspace.id, name: registered.workspace.name },
      label: options.label,
    };
  }

  constructor(options: AgentOptions) {
    this.#options = options;
    this.#token = options.token;
    this.hubUrl = normalizeHubUrl(options.hubUrl, { isInsecureAllowed: resolveInsecurePolicy(options.isInsecureAllowed) });
    // Read on every call: after a rotation the same client carries the new token.
    this.hub = options.hubClient ?? createHubClient(this.hubUrl, () => this.#token);
    for (const exposure of options.exposures ?? []) this.#exposures.set(exposure.name, { ...exposure });
    const tunnelOptions: TunnelOptions = {
      hubUrl: this.hubUrl,
      token: options.token,
      // The hub names only a service; the address comes from what this agent registered itself.
      resolveTarget: (serviceName) => {
        const exposure = this.#exposures.get(serviceName);
        return exposure === undefined ? undefined : { host: exposure.host, port: exposure.port };
      },
      onStateChange: (state, detail) => {
        if (state === "connected") void this.#announceExposures();
        options.onStateChange?.(state, detail);
      },
      onFatal: (error) => options.onFatal?.(error),
      ...(options.onNotice === undefined ? {} : { onNotice: options.onNotice }),
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
      ...(options.onStreamReset === undefined ? {} : { onStreamReset: options.onStreamReset }),
      ...(options.onTargetFailure === undefined ? {} : { onTargetFailure: options.onTargetFailure }),
    };
    this.#tunnel = options.createTunnel?.(tunnelOptions) ?? new TunnelClient(tunnelOptions);
  }

  /** Connects to the hub and keeps reconnecting until `stop()`. */
  start(): void {
    if (this.#isStarted || this.#isStopped) return;
    this.#isStarted = true;
    this.#tunnel.start();
  }

  /** Resolves once the relay connection is up; rejects if the hub rejects the agent or on timeout. */
  waitConnected(timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<WelcomeInfo> {
    return this.#tunnel.waitConnected(timeoutMs);
  }

  /** Asks the hub who this token belongs to; also proves the hub is reachable and the token valid. */
  me() {
    return callHub(this.hubUrl, () => this.hub.agents.me.query());
  }

  /**
   * Rotates this agent's token without touching the relay connection (no stream drops): the hub
   * issues a new token, `save` keeps it, the new token confirms itself, and from then on every
   * control-plane call and every reconnect uses it. See rotateAgentToken.
   */
  async rotateToken(save: (issued: IssuedToken) => Promise<void>): Promise<RotatedToken> {
    const rotated = await rotateAgentToken({
      hubUrl: this.hubUrl,
      token: this.#token,
      save,
      createClient: (token) =>
        token === this.#token
          ? this.hub
          : (this.#options.createHubClientForToken?.(token) ?? createHubClient(this.hubUrl, token)),
    });
    this.setToken(rotated.token);
    return rotated;
  }

  /** Uses `token` for control-plane calls and for the next relay connection; the open one stays. */
  setToken(token: string): void {
    this.#token = token;
    this.#tunnel.setToken?.(token);
  }

  /** Announces `name` to the workspace and relays its streams to host:port on this machine. */
  async expose(options: ExposeOptions): Promise<Exposure> {
    const service = await callHub(this.hubUrl, () =>
      this.hub.services.expose.mutate({ name: options.name, targetHost: options.host, targetPort: options.port }),
    );
    const exposure: Exposure = { name: service.name, host: options.host, port: options.port };
    this.#exposures.set(exposure.name, exposure);
    return { ...exposure };
  }

  /** Withdraws an exposure; true when the hub or this agent had it. */
  async unexpose(name: string): Promise<boolean> {
    const { removed } = await callHub(this.hubUrl, () => this.hub.services.unexpose.mutate({ name }));
    const hadLocally = this.#exposures.delete(name);
    return removed || hadLocally;
  }

  /**
   * Listens on a local port and relays each connection to `service` through the hub. Ports stay
   * bound while the hub is away; connections made then are refused promptly by the tunnel.
   */
  async reach(service: string, options: ReachOptions = {}): Promise<ReachInfo> {
    if (this.#isStopped) throw new ConnectError("NOT_CONNECTED", "This agent has stopped: create a new one");
    const host = options.host ?? DEFAULT_REACH_HOST;
    const from = options.from;
    const key = getReachKey(service, from);
    const existing = this.#reaches.get(key);
    if (existing !== undefined) {
      const isSameRequest =
        (options.port === undefined || options.port === 0 || options.port === existing.info.port) && host === existing.info.host;
      if (isSameRequest) return { ...existing.info };
      throw new ConnectError(
        "INVALID_INPUT",
        `Already reaching ${service} on ${existing.info.host}:${existing.info.port}: stop it first with connect reach --stop ${service}`,
      );
    }
    if (this.#pendingReaches.has(key)) {
      throw new ConnectError("INVALID_INPUT", `A reach of ${service} is already being set up: wait for it and try again`);
    }
    this.#pendingReaches.add(key);
    try {
      // Fails early, with the answer a stream open would get, on a name this agent cannot reach
      // (its own workspace's service, or one a joined share grants). The hub still decides
      // again at every stream open: a share revoked later refuses the streams, not the port.
      if (options.canSkipLookup !== true) {
        await callHub(this.hubUrl, () =>
          this.hub.services.resolve.query(from === undefined ? { name: service } : { name: service, from }),
        );
      }
      const request = from === undefined ? { service } : { service, from };
      const listener = await listenForReach({
        host,
        port: options.port ?? 0,
        onConnection: (socket: Socket) => {
          // The tunnel refuses it at once; say why, as the hub says why it refuses one.
          if (this.#tunnel.state !== "connected") {
            this.#options.onStreamReset?.({
              ...request,
              code: ResetCode.UNAVAILABLE,
              reason: `This agent is not connected to the hub (${this.#tunnel.state})`,
              wasOpened: false,
            });
          }
          this.#tunnel.openStream(socket, request);
        },
      });
      const info: ReachInfo =
        from === undefined ? { service, host, port: listener.port } : { service, from, host, port: listener.port };
      this.#reaches.set(key, { info, listener });
      return { ...info };
    } finally {
      this.#pendingReaches.delete(key);
    }
  }

  /** Releases the local port of a reach; connections already relayed finish on their own. */
  async stopReach(service: string, options: { from?: string } = {}): Promise<boolean> {
    const key = getReachKey(service, options.from);
    const reach = this.#reaches.get(key);
    if (reach === undefined) return false;
    this.#reaches.delete(key);
    await reach.listener.close();
    return true;
  }

  /**
   * Records in the workspace's audit log what this agent's runtime (or its guard) did with an
   * action: allowed, sent for review or blocked. This agent is the actor, with its client type.
   *
   * @example
   * await agent.reportAction({ type: "file", action: "block", target: "/etc/shadow", reason: "outside the project" });
   */
  reportAction(input: ReportActionInput): Promise<ReportActionResult> {
    return reportActionWith(this.hubUrl, this.hub, input);
  }

  status(): AgentStatus {
    return {
      hubUrl: this.hubUrl,
      state: this.#tunnel.state,
      welcome: this.#tunnel.welcome,
      exposures: [...this.#exposures.values()].map((exposure) => ({ ...exposure })),
      reaches: [...this.#reaches.values()].map(({ info }) => ({ ...info })),
      activeStreams: this.#tunnel.activeStreams(),
    };
  }

  /** Releases every reach port and closes the relay connection (open streams are reset). */
  async stop(): Promise<void> {
    if (this.#isStopped) return;
    this.#isStopped = true;
    const reaches = [...this.#reaches.values()];
    this.#reaches.clear();
    await Promise.all(reaches.map(({ listener }) => listener.close()));
    await this.#tunnel.close();
  }

  async #announceExposures(): Promise<void> {
    // The hub rebuilds who serves what from reconnecting agents, so every exposure is announced
    // again after each connect, not only the first.
    for (const exposure of [...this.#exposures.values()]) {
      try {
        await callHub(this.hubUrl, () =>
          this.hub.services.expose.mutate({ name: exposure.name, targetHost: exposure.host, targetPort: exposure.port }),
        );
      } catch (error) {
        const failure = error instanceof ConnectError ? error : new ConnectError("HUB_REJECTED", describeError(error));
        this.#options.onAnnounceError?.(exposure, failure);
      }
    }
  }
}
