import type { Socket } from "node:net";
import { type OpenRequest, ResetCode } from "@private-connect/protocol";
import { normalizeHubUrl } from "../config/hub-url.js";
import type { AgentIdentity } from "../config/identity.js";
import type { E2ePolicy, Exposure } from "../config/state.js";
import { type AdmittedStream, admitOpen } from "../e2e/open-admission.js";
import type { PeerKeyBook } from "../e2e/peer-key-book.js";
import type { ResolvedPeer } from "../e2e/reach-decision.js";
import { ReachOpener, type ReachRequest, type ReachSecurity } from "../e2e/reach-opener.js";
import type { StaticKeyPair } from "../e2e/stream-handshake.js";
import { NO_WORKSPACE_TRUST, type WorkspaceTrust } from "../e2e/workspace-trust.js";
import { readAgentEnv } from "../env.js";
import { ConnectError, describeError } from "../errors.js";
import {
  type OpenAdmission,
  TunnelClient,
  type TunnelOptions,
  type TunnelState,
  type WelcomeInfo,
} from "../tunnel/tunnel-client.js";
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
  /** A stream this agent reached was opened or refused by the hub, with how long that took. */
  onStreamAnswered?: TunnelOptions["onStreamAnswered"];
  /** Re-announcing an exposure after a (re)connect failed; the exposure stays served locally. */
  onAnnounceError?(exposure: Exposure, error: ConnectError): void;
  /**
   * End-to-end encryption between agents: this agent's long-term key (its public half is
   * registered with the hub on every connect), its pins of other agents' keys, and optionally its
   * workspace certificate (with one, only peers certified by the same workspace key are accepted).
   * Without it every stream is plaintext and end-to-end opens of this agent's services are refused.
   */
  e2e?: { staticKey: StaticKeyPair & { publicKeyText: string }; pins: PeerKeyBook; trust?: WorkspaceTrust };
  /** An end-to-end stream this agent reached failed its handshake or a record, or was refused before it was sent. */
  onEndToEndFailure?(event: { service: string; from?: string; reason: string }): void;
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
  /** Whether its streams must be end-to-end encrypted ("required"), may be ("preferred", the default) or are not ("off"). */
  e2e?: E2ePolicy;
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
  /** How its last stream went: end to end or not, with whom, verified or not; absent before the first. */
  security?: ReachSecurity;
}

/** An exposure, and how the last stream to it went. */
export interface ExposureInfo extends Exposure {
  security?: Omit<AdmittedStream, "service">;
}

export interface AgentStatus {
  hubUrl: string;
  state: TunnelState;
  welcome: WelcomeInfo | undefined;
  exposures: ExposureInfo[];
  reaches: ReachInfo[];
  activeStreams: number;
  /** This agent's end-to-end public key (pcpk_...), when it has one. */
  e2ePublicKey?: string;
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
  /**
   * Each exposure's effective policy as the hub last answered its expose (the workspace's setting
   * can make it stricter than the agent's own): the agent holds streams to it too, so a hub that
   * later turns hostile cannot open plaintext to a service its workspace requires encrypted.
   */
  readonly #announcedPolicies = new Map<string, E2ePolicy>();
  readonly #reaches = new Map<string, { info: ReachInfo; listener: ReachListener }>();
  readonly #pendingReaches = new Set<string>();
  readonly #reachOpener: ReachOpener;
  /** How the last stream to each exposure went (by service name). */
  readonly #admitted = new Map<string, AdmittedStream>();
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
        if (state === "connected") void this.#registerKeyAndAnnounce();
        options.onStateChange?.(state, detail);
      },
      ...(options.e2e === undefined ? {} : { admitOpen: (request) => this.#admitOpen(request) }),
      onEndToEndFailure: (event) => options.onEndToEndFailure?.(event),
      onFatal: (error) => options.onFatal?.(error),
      ...(options.onNotice === undefined ? {} : { onNotice: options.onNotice }),
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
      onStreamReset: (event) => {
        // Refused before it opened: the service may have moved, or its agent's key changed.
        if (!event.wasOpened) this.#reachOpener.forget(event);
        options.onStreamReset?.(event);
      },
      ...(options.onTargetFailure === undefined ? {} : { onTargetFailure: options.onTargetFailure }),
      ...(options.onStreamAnswered === undefined ? {} : { onStreamAnswered: options.onStreamAnswered }),
    };
    this.#tunnel = options.createTunnel?.(tunnelOptions) ?? new TunnelClient(tunnelOptions);
    this.#reachOpener = new ReachOpener({
      e2e: options.e2e === undefined ? undefined : { ...options.e2e, trust: options.e2e.trust ?? NO_WORKSPACE_TRUST },
      welcome: () => this.#tunnel.welcome,
      resolve: (request) => this.#resolvePeer(request),
      openStream: (socket, request, handshake) => this.#tunnel.openStream(socket, request, handshake),
      onRefused: (request, refusal) => options.onStreamReset?.({ ...request, ...refusal, wasOpened: false }),
    });
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
    const e2e = options.e2e ?? "preferred";
    const service = await callHub(this.hubUrl, () =>
      this.hub.services.expose.mutate({ name: options.name, targetHost: options.host, targetPort: options.port, e2e }),
    );
    const exposure: Exposure = { name: service.name, host: options.host, port: options.port, e2e };
    this.#exposures.set(exposure.name, exposure);
    this.#rememberAnnouncedPolicy(service.name, service.e2ePolicy);
    return { ...exposure };
  }

  /** Withdraws an exposure; true when the hub or this agent had it. */
  async unexpose(name: string): Promise<boolean> {
    const { removed } = await callHub(this.hubUrl, () => this.hub.services.unexpose.mutate({ name }));
    const hadLocally = this.#exposures.delete(name);
    this.#announcedPolicies.delete(name);
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
      const request: ReachRequest = from === undefined ? { service } : { service, from };
      if (options.canSkipLookup !== true) this.#reachOpener.remember(request, await this.#resolvePeer(request));
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
          this.#reachOpener.open(socket, request);
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
      exposures: [...this.#exposures.values()].map((exposure): ExposureInfo => {
        const admitted = this.#admitted.get(exposure.name);
        if (admitted === undefined) return { ...exposure };
        const { service: _service, ...security } = admitted;
        return { ...exposure, security };
      }),
      reaches: [...this.#reaches.values()].map(({ info }) => {
        const security = this.#reachOpener.securityOf(info);
        return security === undefined ? { ...info } : { ...info, security: { ...security } };
      }),
      activeStreams: this.#tunnel.activeStreams(),
      ...(this.#options.e2e === undefined ? {} : { e2ePublicKey: this.#options.e2e.staticKey.publicKeyText }),
    };
  }

  /** Who exposes the service a reach goes to, its policy and key, as the hub says (the pins decide what to believe). */
  async #resolvePeer(request: ReachRequest): Promise<ResolvedPeer> {
    const resolved = await callHub(this.hubUrl, () =>
      this.hub.services.resolve.query(
        request.from === undefined ? { name: request.service } : { name: request.service, from: request.from },
      ),
    );
    return {
      agentId: resolved.agent.id,
      label: resolved.agent.label,
      workspaceId: resolved.agent.workspaceId,
      policy: resolved.e2e.policy,
      publicKey: resolved.e2e.publicKey,
    };
  }

  /** The exposing side of an OPEN: this agent's own policy for the service decides, with its pins. */
  #admitOpen(request: OpenRequest): OpenAdmission {
    const e2e = this.#options.e2e;
    const welcome = this.#tunnel.welcome;
    if (e2e === undefined || welcome === undefined) {
      return { kind: "refuse", code: ResetCode.UNAVAILABLE, reason: "The exposing agent is not ready for streams" };
    }
    return admitOpen({
      request,
      policy: stricterPolicy(
        this.#exposures.get(request.service)?.e2e ?? "preferred",
        this.#announcedPolicies.get(request.service) ?? "off",
      ),
      self: { agentId: welcome.agentId, workspaceId: welcome.workspaceId },
      staticKey: e2e.staticKey,
      pins: e2e.pins,
      trust: e2e.trust ?? NO_WORKSPACE_TRUST,
      onAdmitted: (stream) => this.#admitted.set(stream.service, stream),
    });
  }

  /** After each connect: the hub learns this agent's public key first, then its exposures. */
  async #registerKeyAndAnnounce(): Promise<void> {
    const e2e = this.#options.e2e;
    if (e2e !== undefined) {
      try {
        await callHub(this.hubUrl, () => this.hub.agents.setE2eKey.mutate({ publicKey: e2e.staticKey.publicKeyText }));
      } catch (error) {
        const failure = error instanceof ConnectError ? error : new ConnectError("HUB_REJECTED", describeError(error));
        this.#options.onEndToEndFailure?.({
          service: "",
          reason: `Registering this agent's end-to-end key failed: ${failure.message}`,
        });
      }
    }
    await this.#announceExposures();
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

  #rememberAnnouncedPolicy(name: string, policy: string): void {
    if (policy === "required" || policy === "preferred" || policy === "off") this.#announcedPolicies.set(name, policy);
  }

  async #announceExposures(): Promise<void> {
    // The hub rebuilds who serves what from reconnecting agents, so every exposure is announced
    // again after each connect, not only the first.
    for (const exposure of [...this.#exposures.values()]) {
      try {
        const service = await callHub(this.hubUrl, () =>
          this.hub.services.expose.mutate({
            name: exposure.name,
            targetHost: exposure.host,
            targetPort: exposure.port,
            e2e: exposure.e2e ?? "preferred",
          }),
        );
        this.#rememberAnnouncedPolicy(exposure.name, service.e2ePolicy);
      } catch (error) {
        const failure = error instanceof ConnectError ? error : new ConnectError("HUB_REJECTED", describeError(error));
        this.#options.onAnnounceError?.(exposure, failure);
      }
    }
  }
}

const POLICY_STRENGTH: Record<E2ePolicy, number> = { off: 0, preferred: 1, required: 2 };

function stricterPolicy(a: E2ePolicy, b: E2ePolicy): E2ePolicy {
  return POLICY_STRENGTH[a] >= POLICY_STRENGTH[b] ? a : b;
}
