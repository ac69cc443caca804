import { mkdir, readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Duplex } from "node:stream";
import {
  type ApiDeps,
  createFileMailer,
  createRateLimiter,
  createRevocations,
  createSmtpMailer,
  createWorkspaceEvents,
  type Mailer,
  type RateLimiter,
  REDIS_UNAVAILABLE_MESSAGE,
  type Revocations,
  rekeyLegacyHashes,
  SECRET_HASH_KEY_MISMATCH,
  scheduleAuditPruning,
  type WorkspaceEvents,
} from "@private-connect/api";
import { type Database, openDatabase } from "@private-connect/db";
import { createTrustedProxies } from "@private-connect/trusted-proxies";
import type { Logger } from "pino";
import { runAdminCall } from "./admin/admin-commands.js";
import { serveAdminSocket } from "./admin/admin-socket.js";
import { lockDataDir } from "./admin/data-dir-lock.js";
import { type ClusterNode, startClusterNode } from "./cluster/cluster-node.js";
import { listenForPeers, PEER_UPGRADE_PATH, type PeerTlsMaterial, readPeerTlsFiles } from "./cluster/peer-listener.js";
import { createHubMetricsExposition } from "./cluster/worker-metrics.js";
import {
  createClientAddressReader,
  hashFrontEndSecret,
  isFrontEndRequest,
  isSecureRequest,
  refuseRequest,
  type TransportPolicy,
} from "./config/client-address.js";
import type { HubEnv } from "./config/env.js";
import { loadClusterSecret, loadFrontEndSecret, loadSecrets } from "./config/secrets.js";
import { createRequestHandler } from "./http/request-handler.js";
import { refuseUpgrade, sendJson } from "./http/responses.js";
import { createLinkProxy } from "./links/link-proxy.js";
import { createLinkMatcher } from "./links/link-routing.js";
import { createApiAuthority } from "./relay/api-authority.js";
import { RelayServer } from "./relay/relay-server.js";

export interface HubOptions {
  env: HubEnv;
  log: Logger;
  port: number;
  host: string;
  /** PGlite data directory; also holds the admin socket. Ignored for storage when DATABASE_URL is set. */
  dataDir: string;
  /**
   * Set in a worker of `connect-hub start --workers N` (cluster/workers.ts): the primary holds the
   * data directory's lock, only worker 0 serves the admin socket, and the worker listens for other
   * hubs on a port of its own.
   */
  worker?: { index: number };
}

export interface RunningHub {
  url: string;
  db: Database;
  relay: RelayServer;
  /** This hub's id in its cluster (REDIS_URL set), else undefined. */
  hubId: string | undefined;
  close(): Promise<void>;
}

export async function openHubDatabase(env: HubEnv, dataDir: string): Promise<Database> {
  if (env.DATABASE_URL) return openDatabase({ databaseUrl: env.DATABASE_URL, runtimeUrl: env.DATABASE_RUNTIME_URL });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  return openDatabase({ dataDir: join(dataDir, "pglite") });
}

export interface ApiDepsParts {
  /** One bus per hub process: the relay publishes presence on it, tRPC subscribers read from it. */
  events?: WorkspaceEvents | undefined;
  mailer?: Mailer;
  publicUrl?: string;
  sessionSigningSecret?: string;
  /** ENCRYPTION_KEY: keys the stored hashes of share codes and link slugs. */
  secretHashKey?: Uint8Array;
  /** Cluster-wide buses and limits (cluster/cluster-node.ts); in-process ones otherwise. */
  revocations?: Revocations | undefined;
  rateLimiter?: RateLimiter | undefined;
}

export function createApiDeps(db: Database, env: HubEnv, relay: ApiDeps["presence"], parts: ApiDepsParts = {}): ApiDeps {
  return {
    db,
    config: {
      tokenExpiryDays: env.TOKEN_EXPIRY_DAYS,
      tokenMaxLifetimeDays: env.TOKEN_MAX_LIFETIME_DAYS,
      publicUrl: parts.publicUrl ?? env.PUBLIC_URL,
      dashboardUrl: env.DASHBOARD_URL,
      sessionSigningSecret: parts.sessionSigningSecret,
      linkDomain: env.LINK_DOMAIN,
      secretHashKey: parts.secretHashKey,
    },
    presence: relay,
    events: parts.events ?? createWorkspaceEvents(),
    mailer: parts.mailer ?? { sendMagicLink: async () => {} },
    rateLimiter: parts.rateLimiter ?? createRateLimiter(),
    revocations: parts.revocations ?? createRevocations(),
  };
}

/**
 * Share codes and link slugs from before keyed hashes are rewritten in keyed form (see
 * rekeyLegacyHashes). Never fatal: until it succeeds, only those old rows fail to match.
 */
async function rekeySecretHashesAtStart(deps: ApiDeps, log: Logger): Promise<void> {
  try {
    const result = await rekeyLegacyHashes(deps);
    if (result.isKeyMismatch) log.error(SECRET_HASH_KEY_MISMATCH);
    else if (result.rekeyed > 0) log.info({ rekeyed: result.rekeyed }, "stored older share codes and link slugs as keyed hashes");
  } catch (error) {
    log.warn(
      { err: String(error) },
      "could not rewrite older share codes and links as keyed hashes: trying again at the next start",
    );
  }
}

/** Where the embedded default (no SMTP_URL) leaves sign-in links, inside the data directory. */
export const SIGN_IN_LINKS_FILE = "sign-in-links.log";

/**
 * SMTP when configured; otherwise the embedded default writes sign-in links to a 0600 file in the
 * data directory (never to the log, which scrubs them: see packages/log-hygiene).
 */
function createMailer(env: HubEnv, log: Logger, dataDir: string): Mailer & { close?(): void } {
  return env.SMTP_URL ? createSmtpMailer(env.SMTP_URL, env.SMTP_FROM) : createFileMailer(join(dataDir, SIGN_IN_LINKS_FILE), log);
}

async function createHttpServer(env: HubEnv, handler: RequestListener): Promise<Server> {
  if (!env.TLS_CERT || !env.TLS_KEY) return createServer(handler);
  const [cert, key] = await Promise.all([readFile(env.TLS_CERT), readFile(env.TLS_KEY)]);
  return createTlsServer({ cert, key, minVersion: "TLSv1.2" }, handler);
}

/** How long a stopping hub lets in-flight HTTP requests finish before closing their connections. */
const SHUTDOWN_DRAIN_MS = 2_000;

/** Where a hub's peers reach it when HUB_PEER_URL is unset: right on one machine only. */
function defaultPeerUrl(scheme: "ws" | "wss", port: number): string {
  return `${scheme}://127.0.0.1:${port}`;
}

function readPeerTls(env: HubEnv): PeerTlsMaterial | undefined {
  if (!env.HUB_PEER_TLS_CERT || !env.HUB_PEER_TLS_KEY || !env.HUB_PEER_TLS_CA) return undefined;
  return readPeerTlsFiles({ certPath: env.HUB_PEER_TLS_CERT, keyPath: env.HUB_PEER_TLS_KEY, caPath: env.HUB_PEER_TLS_CA });
}

/**
 * Starts the hub: database (migrated), relay, control plane and admin socket on one port; with
 * REDIS_URL also its membership of the cluster (docs/cluster.md).
 */
export async function startHub(options: HubOptions): Promise<RunningHub> {
  const { env, log } = options;
  const dataDir = resolve(options.dataDir);
  // A worker's primary holds the data directory (cluster/workers.ts).
  const lock = options.worker ? { release: async () => {} } : await lockDataDir(dataDir);
  let db: Database;
  try {
    db = await openHubDatabase(env, dataDir);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const mailer = createMailer(env, log, dataDir);
  const secrets = await loadSecrets(env, dataDir);
  const frontEndSecret = await loadFrontEndSecret(env, dataDir);

  // Listening first: a hub's default id and peer address come from its port (port 0 in tests).
  // Until the hub is wired, requests get 503 and upgrades are refused.
  let handleRequest: RequestListener = (_request, response) => sendJson(response, 503, { error: "The hub is starting" });
  let handleUpgrade = (_request: IncomingMessage, socket: Duplex, _head: Buffer) =>
    refuseUpgrade(socket, 503, "The hub is starting");
  const server = await createHttpServer(env, (request, response) => handleRequest(request, response));
  server.on("upgrade", (request, socket, head) => handleUpgrade(request, socket, head));
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const scheme = env.TLS_CERT ? "https" : "http";
  const url = `${scheme}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`;

  let cluster: ClusterNode | undefined;
  let peerListener: Server | undefined;
  try {
    if (env.REDIS_URL) {
      const peerTls = readPeerTls(env);
      const hubId = env.HUB_ID ?? `${hostname()}-${address.port}`;
      let peerUrl = env.HUB_PEER_URL ?? defaultPeerUrl(env.TLS_CERT ? "wss" : "ws", address.port);
      if (options.worker || peerTls) {
        const wanted = env.HUB_PEER_URL ? new URL(env.HUB_PEER_URL) : undefined;
        // Where HUB_PEER_URL's host says; a worker on a port of its own, as its siblings share the main one.
        const peers = await listenForPeers({
          tls: peerTls,
          host: wanted?.hostname.replace(/^\[|\]$/g, "") ?? "127.0.0.1",
          port: !options.worker && wanted?.port ? Number(wanted.port) : 0,
          onUpgrade: (request, socket, head) => cluster?.handlePeerUpgrade(request, socket, head),
        });
        peerListener = peers.server;
        if (options.worker || !env.HUB_PEER_URL) peerUrl = peers.url;
      }
      cluster = await startClusterNode({
        redisUrl: env.REDIS_URL,
        keyPrefix: env.REDIS_KEY_PREFIX,
        self: { hubId, peerUrl },
        secrets: { ...secrets, clusterSecret: await loadClusterSecret(env, dataDir) },
        connectionsPerPeer: env.HUB_PEER_CONNECTIONS,
        peerTls,
        log,
      });
      log.info({ hubId, peerUrl, redisKeyPrefix: env.REDIS_KEY_PREFIX }, "joined the cluster");
    }
  } catch (error) {
    peerListener?.close();
    server.close();
    mailer.close?.();
    await db.close();
    await lock.release();
    throw error;
  }
  const clusterLog = cluster ? log.child({ hubId: cluster.hubId }) : log;

  let relay: RelayServer | undefined;
  const presence: ApiDeps["presence"] = {
    findOnlineAgents: async (agentIds) =>
      cluster ? cluster.findOnlineAgents(agentIds) : new Set(agentIds.filter((agentId) => relay?.isAgentOnline(agentId))),
    describeServiceTraffic: async (services, listed) => {
      if (cluster) return cluster.describeServiceTraffic(services, listed);
      return relay?.describeServiceTraffic(services, listed) ?? [];
    },
  };
  const deps = createApiDeps(db, env, presence, {
    mailer,
    sessionSigningSecret: secrets.jwtSecret,
    secretHashKey: secrets.encryptionKey,
    events: cluster?.workspaceEvents(createWorkspaceEvents()),
    revocations: cluster?.revocations(createRevocations()),
    rateLimiter: cluster?.rateLimiter,
  });
  await rekeySecretHashesAtStart(deps, log);
  // AUDIT_RETENTION_DAYS: now, then daily. The runtime role cannot delete audit rows itself; the
  // prune goes through the database's narrow pc_audit_prune function.
  const retentionDays = env.AUDIT_RETENTION_DAYS;
  const auditPruning = scheduleAuditPruning({
    db,
    retentionDays,
    onPruned: (pruned) => log.info({ pruned, retentionDays }, "pruned audit events older than the retention"),
    onError: (error) => log.warn({ err: String(error), retentionDays }, "could not prune the audit log: trying again in a day"),
  });
  const runningRelay = new RelayServer(createApiAuthority(deps, clusterLog), clusterLog, {
    heartbeatMs: env.HEARTBEAT_SECONDS * 1000,
    cluster,
  });
  relay = runningRelay;
  cluster?.attachRelay(runningRelay);
  const stopCuttingRevoked = deps.revocations.subscribe((revocation) => {
    switch (revocation.kind) {
      case "share":
        runningRelay.resetShareStreams(revocation.shareId);
        return;
      case "agent":
        runningRelay.closeRevokedAgent(revocation.agentId, revocation.reason);
        return;
      case "link":
      case "member":
      case "apiKey":
      case "session":
        // Nothing on the relay: links are the link proxy's; a removed member's agents, and a
        // revoked key's, come as agent revocations of their own; sessions never open streams.
        return;
    }
  });

  const policy: TransportPolicy = {
    isTlsServed: Boolean(env.TLS_CERT),
    allowInsecure: env.ALLOW_INSECURE,
    trustedProxies: createTrustedProxies(env.TRUST_PROXY),
    frontEndSecretHash: hashFrontEndSecret(frontEndSecret),
  };
  const readClientIp = createClientAddressReader(policy, (peer, message) => log.warn({ ip: peer }, message));
  const matchLink = createLinkMatcher(env.LINK_DOMAIN ?? "localhost", { dashboardUrl: env.DASHBOARD_URL });
  // Public links: <slug>.<LINK_DOMAIN> (localhost by default, for local use) and /l/<slug>/.
  const links = {
    // The dashboard forwards only its own /trpc calls: whatever Host a browser gave it, never a link.
    match: (request: IncomingMessage) => (isFrontEndRequest(request, policy) ? undefined : matchLink(request)),
    proxy: createLinkProxy({
      deps,
      relay: runningRelay,
      // Per-address link limits hold across the cluster: the same limiter as sign-in and shares.
      rateLimiter: deps.rateLimiter,
      log: clusterLog,
      readClientIp,
      isSecureRequest: (request) => isSecureRequest(request, policy),
    }),
  };
  // Behind --workers, a worker's /metrics shows every worker's samples, gathered by the primary.
  const metrics = createHubMetricsExposition({
    hubId: cluster?.hubId,
    isWorker: options.worker !== undefined,
    snapshot: () => runningRelay.snapshot(),
  });
  server.once("close", () => metrics.close());
  const handler = createRequestHandler({
    deps,
    // Ready = accepting (not draining for a shutdown), the database answers, and Redis if clustered.
    readinessProblem: async () => {
      if (!runningRelay.isAccepting) return "The hub is shutting down";
      if (cluster && !cluster.isReady()) return REDIS_UNAVAILABLE_MESSAGE;
      try {
        await db.ping();
      } catch {
        return "The hub cannot reach its database right now";
      }
      return undefined;
    },
    renderMetrics: metrics.render,
    metricsToken: env.METRICS_TOKEN,
    readClientIp,
    log,
    links,
  });
  handleRequest = (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    // Health probes carry no secret, so load balancers may use plain HTTP for them.
    const refusal = path === "/healthz" || path === "/readyz" ? undefined : refuseRequest(request, policy);
    if (refusal) {
      sendJson(response, 403, { error: refusal });
      return;
    }
    handler(request, response);
  };
  handleUpgrade = (request, socket, head) => {
    const linkTarget = links.match(request);
    if (linkTarget) {
      const refusal = refuseRequest(request, policy);
      if (refusal) refuseUpgrade(socket, 403, refusal);
      else links.proxy.handleUpgrade(request, socket, head, linkTarget);
      return;
    }
    const path = (request.url ?? "/").split("?")[0];
    // Other hubs dial the main port unless they have one of their own (workers, mutual TLS).
    if (path === PEER_UPGRADE_PATH && cluster && peerListener === undefined) {
      cluster.handlePeerUpgrade(request, socket, head);
      return;
    }
    if (path !== "/relay") {
      refuseUpgrade(socket, 404, "Not found: agents connect to /relay");
      return;
    }
    const refusal = refuseRequest(request, policy);
    if (refusal) {
      refuseUpgrade(socket, 403, refusal);
      return;
    }
    void runningRelay.handleUpgrade(request, socket, head, readClientIp(request));
  };

  // Emailed links need an address users can open; without PUBLIC_URL that is where we listen.
  deps.config.publicUrl ??= url;

  // One admin socket per data directory: a worker other than the first leaves it to that one.
  const admin =
    options.worker && options.worker.index > 0
      ? { close: () => {} }
      : await serveAdminSocket(dataDir, ({ id: _id, ...call }) => runAdminCall(deps, call, url));

  // Without SMTP, say once where sign-in links will appear, so a local user knows where to look.
  const signInLinks = env.SMTP_URL ? undefined : join(dataDir, SIGN_IN_LINKS_FILE);
  // A worker's primary says "hub listening" once all its workers are (cluster/workers.ts).
  clusterLog.info({ url, database: db.kind, dataDir, signInLinks }, options.worker ? "hub worker listening" : "hub listening");

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopCuttingRevoked();
      links.proxy.close();
      cluster?.beginDrain("hub shutting down");
      await runningRelay.shutdown();
      admin.close();
      const serverClosed = new Promise<void>((done) => server.close(() => done()));
      // Live-update (SSE) responses never end by themselves, so close() alone would wait for
      // every subscriber; let ordinary requests drain briefly, then cut what is left (EventSource
      // clients reconnect to the next hub).
      const cutConnections = setTimeout(() => server.closeAllConnections(), SHUTDOWN_DRAIN_MS);
      await serverClosed;
      clearTimeout(cutConnections);
      server.closeAllConnections();
      peerListener?.close();
      peerListener?.closeAllConnections();
      await cluster?.close();
      mailer.close?.();
      await auditPruning.stop();
      await db.close();
      await lock.release();
    })();
    return closing;
  };
  return { url, db, relay: runningRelay, hubId: cluster?.hubId, close };
}
