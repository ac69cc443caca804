import { rm } from "node:fs/promises";
import { describeTokenExpiry } from "../cli/token-expiry.js";
import { type AgentIdentity, writeIdentity } from "../config/identity.js";
import type { ConfigPaths } from "../config/paths.js";
import { type ReachRecord, readState, writeState } from "../config/state.js";
import { PinCache } from "../e2e/pin-cache.js";
import { reportPeerKeyChange, reportUncertifiedPeer } from "../e2e/report-peer-key.js";
import { loadOrCreateStaticKey } from "../e2e/static-key.js";
import { type AgentCertificate, encodeWorkspaceKey } from "../e2e/workspace-certificate.js";
import { InstalledWorkspaceTrust } from "../e2e/workspace-trust.js";
import { ConnectError, describeError } from "../errors.js";
import { Agent, type AgentOptions, type TunnelState } from "../sdk/agent.js";
import { TunnelFatalError } from "../tunnel/tunnel-client.js";
import { findRunningAgent, removeOwnPidFile, writePidFile } from "./agent-process.js";
import type { AgentProcessStatus, ControlHandler, HubNoticeRecord, IpChangeRecord } from "./control-protocol.js";
import { type ControlServer, startControlServer } from "./control-server.js";
import {
  describeStreamReset,
  describeTargetFailure,
  type FailureRecord,
  getReachFailureKey,
  isUnremarkableReset,
  LastFailures,
} from "./last-failures.js";
import { clearLastStop, writeLastStop } from "./last-stop.js";
import { lookupService } from "./lookup-service.js";
import { getStreamKey, StreamOpenings } from "./stream-openings.js";

export interface DaemonOptions {
  paths: ConfigPaths;
  identity: AgentIdentity;
  isInsecureAllowed: boolean;
  heartbeatMs?: number | undefined;
  /** Where progress lines go: the terminal in the foreground, agent.log when detached. */
  log(line: string): void;
  /** Test seams: replace the relay client and the control-plane clients, and the clock. */
  createTunnel?: AgentOptions["createTunnel"];
  hubClient?: AgentOptions["hubClient"];
  createHubClientForToken?: AgentOptions["createHubClientForToken"];
  now?: () => Date;
  /** `connect up` already printed the expiry warning to the same terminal: do not repeat it at once. */
  hasWarnedAboutExpiry?: boolean;
  /** Stop on SIGINT/SIGTERM (default true; tests drive shutdown through the socket instead). */
  isHandlingSignals?: boolean;
}

export interface DaemonResult {
  exitCode: number;
  /** Why the agent stopped when it was not asked to (e.g. the hub rejected its token). */
  fatalError?: Error;
}

function isSameReach(
  a: { service: string; from?: string | undefined },
  b: { service: string; from?: string | undefined },
): boolean {
  return a.service === b.service && a.from === b.from;
}

function withLastFailure<T extends object>(item: T, lastFailure: FailureRecord | undefined): T & { lastFailure?: FailureRecord } {
  return lastFailure === undefined ? item : { ...item, lastFailure };
}

/**
 * Runs the long-lived agent for one config directory until it is shut down (control socket
 * `shutdown`, SIGINT/SIGTERM) or the hub rejects it for good. Resolves once every port, the
 * relay connection, the control socket and the pid file are released.
 */
/** Notices kept for `connect status`; older ones are in agent.log. */
const MAX_NOTICES = 10;
/** How often a running agent repeats the expiry warning in its log. */
const EXPIRY_WARNING_INTERVAL_MS = 24 * 60 * 60 * 1000;

export async function runDaemon(options: DaemonOptions): Promise<DaemonResult> {
  const { paths, log } = options;
  // Replaced (and saved) when the token is rotated; the rest of the identity never changes here.
  let identity = options.identity;
  const now = options.now ?? (() => new Date());
  const running = await findRunningAgent(paths);
  if (running !== undefined) {
    throw new ConnectError(
      "AGENT_ALREADY_RUNNING",
      `An agent is already running for ${paths.dir}${running.pid === undefined ? "" : ` (pid ${running.pid})`}: stop it with connect down`,
    );
  }
  // Unix socket paths are limited to about 108 bytes by the kernel; fail with a way out.
  if (Buffer.byteLength(paths.socket) > 100) {
    throw new ConnectError(
      "INVALID_INPUT",
      `The config directory ${paths.dir} is too long a path for the agent's control socket: use a shorter --config`,
    );
  }
  // Read before anything starts: a corrupt state file stops the agent instead of being replaced.
  const saved = await readState(paths.state);

  // Why the hub refused or cut a reached connection, said once per service and reason every
  // ten seconds: a client retrying in a loop must not flood the log.
  const lastResetLogAt = new Map<string, number>();
  const isLogDue = (key: string): boolean => {
    const at = now().getTime();
    if (at - (lastResetLogAt.get(key) ?? 0) < 10_000) return false;
    lastResetLogAt.set(key, at);
    if (lastResetLogAt.size > 1_000) lastResetLogAt.clear();
    return true;
  };
  // The newest failure of each reach and each exposure, for connect status: without it the
  // reason a client saw only "connection closed" is in agent.log alone.
  const reachFailures = new LastFailures();
  // The hub's answer to each reached stream's open, for connect check to time the stream it probes.
  const streamOpenings = new StreamOpenings();
  const exposureFailures = new LastFailures();
  const onStreamReset = (event: { service: string; from?: string; code: number; reason: string; wasOpened: boolean }) => {
    // The local side or the peer closing normally needs no explanation.
    if (isUnremarkableReset(event.code)) return;
    // A reach stopped since has nothing left to show it on.
    if (agent.status().reaches.some((reach) => isSameReach(reach, event))) {
      reachFailures.record(getReachFailureKey(event), describeStreamReset(event), now());
    }
    if (!isLogDue(`${event.from ?? ""}\u0000${event.service}\u0000${event.code}`)) return;
    log(`${event.wasOpened ? "Connection to" : "Could not reach"} ${event.service}: ${event.reason}`);
  };
  const onTargetFailure = (event: { service: string; host: string; port: number; code: string }) => {
    const reason = describeTargetFailure(event);
    if (agent.status().exposures.some((exposure) => exposure.name === event.service)) {
      exposureFailures.record(event.service, reason, now());
    }
    if (!isLogDue(`target\u0000${event.service}\u0000${event.code}`)) return;
    log(`A connection to ${event.service} failed: ${reason}`);
  };

  let lastError: string | undefined;
  let fatalError: Error | undefined;
  let isShuttingDown = false;
  let resolveDone: (result: DaemonResult) => void = () => {};
  const done = new Promise<DaemonResult>((resolve) => {
    resolveDone = resolve;
  });
  // Reaches whose port could not be bound again at start stay saved, so a later start can retry
  // them instead of silently forgetting what the user asked for.
  const unrestoredReaches: ReachRecord[] = [];
  const notices: HubNoticeRecord[] = [];
  let ipChanges: IpChangeRecord[] = [];
  let lastExpiryWarningAt = options.hasWarnedAboutExpiry === true ? now().getTime() : 0;
  let rotation: Promise<unknown> = Promise.resolve();
  // A fresh start: whatever stopped the previous run is no longer the news.
  await clearLastStop(paths.lastStop);

  // Made on the first start and kept: other agents pin its public half.
  const staticKey = await loadOrCreateStaticKey(paths.e2eKey);
  const pins = await PinCache.open(paths.knownAgents, {
    onChanged: (change) => {
      log(
        `Refused a stream${change.service === undefined ? "" : ` of ${change.service}`}: the end-to-end key of agent ${change.peer.label} (${change.peer.agentId}) changed since it was pinned; if that is expected, run connect trust ${change.peer.agentId}`,
      );
      void reportPeerKeyChange(agent.hub, identity.hubUrl, change).catch((error: unknown) =>
        log(`Could not report the changed key to the hub's audit log: ${describeError(error)}`),
      );
    },
  });

  // With a workspace certificate installed, only peers the same workspace key certified are accepted.
  const trust = InstalledWorkspaceTrust.open(
    paths.workspaceCertificate,
    { agentId: identity.agentId, workspaceId: identity.workspace.id, publicKey: staticKey.publicKey },
    {
      onRefused: (refusal) => {
        log(`Refused a stream${refusal.service === "" ? "" : ` of ${refusal.service}`}: ${refusal.reason}`);
        void reportUncertifiedPeer(agent.hub, identity.hubUrl, refusal).catch((error: unknown) =>
          log(`Could not report the uncertified key to the hub's audit log: ${describeError(error)}`),
        );
      },
      onFileError: (error) =>
        log(`Could not read ${paths.workspaceCertificate}; the certificate read before stays in force: ${describeError(error)}`),
    },
  );

  const agent = new Agent({
    hubUrl: identity.hubUrl,
    token: identity.token,
    exposures: saved.exposures,
    e2e: { staticKey, pins, trust },
    onEndToEndFailure: (event) => {
      if (event.service !== "" && agent.status().reaches.some((reach) => isSameReach(reach, event))) {
        reachFailures.record(getReachFailureKey(event), event.reason, now());
      }
      if (!isLogDue(`e2e\u0000${event.from ?? ""}\u0000${event.service}`)) return;
      log(event.reason);
    },
    isInsecureAllowed: options.isInsecureAllowed,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.createTunnel === undefined ? {} : { createTunnel: options.createTunnel }),
    ...(options.hubClient === undefined ? {} : { hubClient: options.hubClient }),
    ...(options.createHubClientForToken === undefined ? {} : { createHubClientForToken: options.createHubClientForToken }),
    onStateChange: (state: TunnelState, detail) => {
      if (state === "connected") {
        lastError = undefined;
        log(`Connected to the hub at ${identity.hubUrl} as ${identity.label} (workspace ${identity.workspace.name})`);
        void refreshProfile();
      } else if (state === "disconnected") {
        lastError = detail?.reason;
        log(`Disconnected from the hub${detail?.reason ? `: ${detail.reason}` : ""}; reconnecting`);
      }
    },
    onStreamReset,
    onTargetFailure,
    onStreamAnswered: (answer) => {
      const { socket } = answer;
      // A socket already gone has no ports left to name it: no client can be waiting for it.
      const keyOf = () =>
        socket.localPort === undefined || socket.remotePort === undefined
          ? ""
          : getStreamKey(socket.localPort, socket.remotePort);
      streamOpenings.record(keyOf, {
        isOpened: answer.refusal === undefined,
        openMs: answer.elapsedMs,
        ...(answer.refusal === undefined ? {} : { refusal: answer.refusal }),
      });
    },
    onFatal: (error) => {
      fatalError = error;
      lastError = error.message;
      log(`Stopping: ${error.message}`);
      // The process is about to go; `connect status` reads the reason from here afterwards.
      // The code and agent id let connect up refuse this identity's token locally from now on.
      const code = error instanceof TunnelFatalError ? error.code : undefined;
      void writeLastStop(paths.lastStop, {
        at: now().toISOString(),
        reason: error.message,
        agentId: identity.agentId,
        ...(code === undefined ? {} : { code }),
      })
        .catch((writeError: unknown) => log(`Could not record why the agent stopped: ${describeError(writeError)}`))
        .finally(() => void shutdown(1));
    },
    onNotice: (notice) => {
      log(`Hub ${notice.level}: ${notice.message}`);
      notices.push({ at: now().toISOString(), level: notice.level, code: notice.code, message: notice.message });
      if (notices.length > MAX_NOTICES) notices.splice(0, notices.length - MAX_NOTICES);
      // The notice says that something changed; the hub's record has the details.
      if (notice.code === "ip_changed") void refreshProfile();
    },
    onAnnounceError: (exposure, error) => {
      log(`Could not announce ${exposure.name} to the hub: ${error.message}`);
    },
  });

  let writeChain: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    const status = agent.status();
    const reaches: ReachRecord[] = status.reaches.map((reach) =>
      reach.from === undefined
        ? { service: reach.service, host: reach.host, port: reach.port }
        : { service: reach.service, from: reach.from, host: reach.host, port: reach.port },
    );
    for (const pending of unrestoredReaches) if (!reaches.some((reach) => isSameReach(reach, pending))) reaches.push(pending);
    const snapshot = { exposures: status.exposures, reaches };
    // Writes are chained so an older snapshot never lands after a newer one.
    writeChain = writeChain.catch(() => {}).then(() => writeState(paths.state, snapshot));
    return writeChain;
  };

  const getStatus = (): AgentProcessStatus => {
    const status = agent.status();
    const warning = describeTokenExpiry(identity, now());
    return {
      pid: process.pid,
      configDir: paths.dir,
      agent: { id: identity.agentId, label: identity.label, workspace: { ...identity.workspace } },
      hub: {
        url: status.hubUrl,
        state: status.state,
        ...(lastError === undefined ? {} : { lastError }),
        ...(status.welcome === undefined ? {} : { relaysEndToEnd: status.welcome.relaysEndToEnd }),
      },
      token: {
        expiresAt: identity.tokenExpiresAt,
        isProvisioned: identity.isProvisioned === true,
        ...(identity.registeredAt === undefined ? {} : { registeredAt: identity.registeredAt }),
        ...(identity.tokenMaxExpiresAt === undefined ? {} : { maxExpiresAt: identity.tokenMaxExpiresAt }),
        ...(warning === undefined ? {} : { warning }),
      },
      exposures: status.exposures.map((exposure) => withLastFailure(exposure, exposureFailures.get(exposure.name))),
      reaches: status.reaches.map((reach) => withLastFailure(reach, reachFailures.get(getReachFailureKey(reach)))),
      activeStreams: status.activeStreams,
      ...(status.e2ePublicKey === undefined ? {} : { e2ePublicKey: status.e2ePublicKey }),
      ...describeCertificate(trust.certificate()),
      notices: notices.map((notice) => ({ ...notice })),
      ipChanges: ipChanges.map((change) => ({ ...change })),
    };
  };

  const saveIdentity = async (next: AgentIdentity): Promise<void> => {
    await writeIdentity(paths.identity, next);
    identity = next;
  };

  const warnIfExpiring = (): void => {
    const warning = describeTokenExpiry(identity, now());
    if (warning === undefined || now().getTime() - lastExpiryWarningAt < EXPIRY_WARNING_INTERVAL_MS) return;
    lastExpiryWarningAt = now().getTime();
    log(`Warning: ${warning}`);
  };

  /**
   * Re-reads who the hub says this agent is (after each connect and each ip_changed notice): the
   * recent IP changes for `connect status`, and the token's expiry and maximum lifetime. A saved token that is an
   * unconfirmed rotation (the confirmation never arrived) is confirmed here.
   */
  async function refreshProfile(): Promise<void> {
    try {
      let me = await agent.me();
      if (me.isRotationPending) {
        await agent.hub.agents.confirmRotation.mutate();
        log("Confirmed the agent token saved by an interrupted rotation");
        me = await agent.me();
      }
      ipChanges = me.recentIpChanges;
      const current = {
        ...identity,
        tokenExpiresAt: me.tokenExpiresAt,
        registeredAt: me.registeredAt,
        tokenMaxExpiresAt: me.tokenMaxExpiresAt,
      };
      if (
        current.tokenExpiresAt !== identity.tokenExpiresAt ||
        current.registeredAt !== identity.registeredAt ||
        current.tokenMaxExpiresAt !== identity.tokenMaxExpiresAt
      ) {
        await saveIdentity(current);
      }
    } catch (error) {
      log(`Could not read this agent's details from the hub: ${describeError(error)}`);
    }
    warnIfExpiring();
  }

  const handler: ControlHandler = {
    status: async () => getStatus(),
    expose: async (params) => {
      const exposure = await agent.expose(params);
      // A new target (or the same one, fixed) starts with a clean record.
      exposureFailures.forget(exposure.name);
      await persist();
      log(`Exposing ${exposure.name} -> ${exposure.host}:${exposure.port}`);
      return exposure;
    },
    unexpose: async ({ name }) => {
      const isRemoved = await agent.unexpose(name);
      exposureFailures.forget(name);
      if (!isRemoved) throw new ConnectError("INVALID_INPUT", `No exposure named "${name}" on this agent: see connect status`);
      await persist();
      log(`Stopped exposing ${name}`);
      return { removed: true };
    },
    reach: async (params) => {
      const reach = await agent.reach(params.service, params);
      const index = unrestoredReaches.findIndex((pending) => isSameReach(pending, reach));
      if (index !== -1) unrestoredReaches.splice(index, 1);
      await persist();
      log(`Reaching ${reach.service} on ${reach.host}:${reach.port}`);
      return reach;
    },
    stopReach: async (params) => {
      const isStopped = await agent.stopReach(params.service, params.from === undefined ? {} : { from: params.from });
      reachFailures.forget(getReachFailureKey(params));
      const index = unrestoredReaches.findIndex((pending) => isSameReach(pending, params));
      if (index !== -1) unrestoredReaches.splice(index, 1);
      if (!isStopped && index === -1) {
        throw new ConnectError("INVALID_INPUT", `No reach of "${params.service}" on this agent: see connect status`);
      }
      await persist();
      log(`Stopped reaching ${params.service}`);
      return { stopped: true };
    },
    waitConnected: async ({ timeoutMs }) => {
      try {
        await agent.waitConnected(timeoutMs);
      } catch (error) {
        const reason = fatalError?.message ?? lastError ?? describeError(error);
        throw new ConnectError("NOT_CONNECTED", `Could not connect to the hub at ${identity.hubUrl}: ${reason}`, {
          cause: error,
        });
      }
      return getStatus();
    },
    shutdown: async () => {
      // Answer first; the reply would otherwise race the control socket closing.
      setImmediate(() => void shutdown(0));
      return { ok: true };
    },
    rotateToken: () => {
      // One rotation at a time: a second one waits, then rotates from the token the first saved.
      const next = rotation
        .catch(() => undefined)
        .then(async () => {
          const rotated = await agent.rotateToken((issued) =>
            saveIdentity({ ...identity, token: issued.token, tokenExpiresAt: issued.tokenExpiresAt }),
          );
          if (rotated.isResumed) await saveIdentity({ ...identity, tokenExpiresAt: rotated.tokenExpiresAt });
          lastExpiryWarningAt = 0;
          log(
            `Rotated the agent token; the new one expires ${rotated.tokenExpiresAt} (the hub connection stays up and uses it from the next reconnect)`,
          );
          return { tokenExpiresAt: rotated.tokenExpiresAt, isResumed: rotated.isResumed };
        });
      rotation = next;
      return next;
    },
    lookupService: async (params) => ({ service: await lookupService(agent.hub, identity.hubUrl, params) }),
    waitStreamOpen: async ({ reachPort, clientPort, timeoutMs }) => {
      const opening = await streamOpenings.wait(getStreamKey(reachPort, clientPort), timeoutMs);
      if (opening === undefined) return { isAnswered: false, isOpened: false, openMs: null };
      return { isAnswered: true, ...opening };
    },
  };

  let control: ControlServer;
  try {
    control = await startControlServer(paths.socket, handler);
  } catch (error) {
    await agent.stop();
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new ConnectError("AGENT_ALREADY_RUNNING", `An agent is already running for ${paths.dir}: stop it with connect down`);
    }
    throw new ConnectError("CONTROL_FAILED", `Cannot open the control socket ${paths.socket}: ${describeError(error)}`, {
      cause: error,
    });
  }
  await writePidFile(paths.pid);

  // A long-running agent crosses into the warning window while it runs, not only at start.
  const expiryTimer = setInterval(warnIfExpiring, 60 * 60 * 1000);
  expiryTimer.unref();

  const onSignal = (signal: NodeJS.Signals) => {
    log(`Received ${signal}`);
    void shutdown(0);
  };
  const isHandlingSignals = options.isHandlingSignals ?? true;
  if (isHandlingSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }

  async function shutdown(exitCode: number): Promise<void> {
    if (isShuttingDown) return;
    isShuttingDown = true;
    clearInterval(expiryTimer);
    log("Stopping the agent");
    await control.close();
    await agent.stop().catch((error: unknown) => log(`Error while closing the relay: ${describeError(error)}`));
    await writeChain.catch(() => {});
    await rm(paths.socket, { force: true });
    await removeOwnPidFile(paths.pid);
    if (isHandlingSignals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    resolveDone(fatalError === undefined ? { exitCode } : { exitCode, fatalError });
  }

  for (const record of saved.reaches) {
    try {
      const reach = await agent.reach(record.service, {
        host: record.host,
        port: record.port,
        canSkipLookup: true,
        ...(record.from === undefined ? {} : { from: record.from }),
      });
      log(`Reaching ${reach.service} on ${reach.host}:${reach.port} (restored)`);
    } catch (error) {
      unrestoredReaches.push(record);
      log(`Could not restore the reach of ${record.service} on ${record.host}:${record.port}: ${describeError(error)}`);
    }
  }
  for (const exposure of saved.exposures) log(`Exposing ${exposure.name} -> ${exposure.host}:${exposure.port} (restored)`);

  agent.start();
  log(`Agent ${identity.label} (${identity.agentId}) started for ${paths.dir}, pid ${process.pid}`);
  return done;
}

function describeCertificate(certificate: AgentCertificate | undefined): Pick<AgentProcessStatus, "workspaceCertificate"> {
  if (certificate === undefined) return {};
  return { workspaceCertificate: { workspaceKey: encodeWorkspaceKey(certificate.workspaceKey), issuedAt: certificate.issuedAt } };
}
