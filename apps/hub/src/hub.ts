import { mkdir, readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import {
  type ApiDeps,
  createFileMailer,
  createRateLimiter,
  createRevocations,
  createSmtpMailer,
  createWorkspaceEvents,
  type Mailer,
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
import {
  createClientAddressReader,
  hashFrontEndSecret,
  isFrontEndRequest,
  isSecureRequest,
  refuseRequest,
  type TransportPolicy,
} from "./config/client-address.js";
import type { HubEnv } from "./config/env.js";
import { loadFrontEndSecret, loadSecrets } from "./config/secrets.js";
import { createRequestHandler } from "./http/request-handler.js";
import { refuseUpgrade, sendJson } from "./http/responses.js";
import { createLinkProxy } from "./links/link-proxy.js";
import { createLinkMatcher } from "./links/link-routing.js";
import { createApiAuthority } from "./relay/api-authority.js";
import { renderPrometheus } from "./relay/relay-metrics.js";
import { RelayServer } from "./relay/relay-server.js";

export interface HubOptions {
  env: HubEnv;
  log: Logger;
  port: number;
  host: string;
  /** PGlite data directory; also holds the admin socket. Ignored for storage when DATABASE_URL is set. */
  dataDir: string;
}

export interface RunningHub {
  url: string;
  db: Database;
  relay: RelayServer;
  close(): Promise<void>;
}

export async function openHubDatabase(env: HubEnv, dataDir: string): Promise<Database> {
  if (env.DATABASE_URL) return openDatabase({ databaseUrl: env.DATABASE_URL, runtimeUrl: env.DATABASE_RUNTIME_URL });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  return openDatabase({ dataDir: join(dataDir, "pglite") });
}

export interface ApiDepsParts {
  /** One bus per hub process: the relay publishes presence on it, tRPC subscribers read from it. */
  events?: WorkspaceEvents;
  mailer?: Mailer;
  publicUrl?: string;
  sessionSigningSecret?: string;
  /** ENCRYPTION_KEY: keys the stored hashes of share codes and link slugs. */
  secretHashKey?: Uint8Array;
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
    rateLimiter: createRateLimiter(),
    revocations: createRevocations(),
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

/** Starts the hub: database (migrated), relay, control plane and admin socket on one port. */
export async function startHub(options: HubOptions): Promise<RunningHub> {
  const { env, log } = options;
  const dataDir = resolve(options.dataDir);
  const lock = await lockDataDir(dataDir);
  let db: Database;
  try {
    db = await openHubDatabase(env, dataDir);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const presence: ApiDeps["presence"] = {
    isAgentOnline: (agentId) => relay.isAgentOnline(agentId),
    describeServiceTraffic: (agentId, serviceName) => relay.describeServiceTraffic(agentId, serviceName),
  };
  const mailer = createMailer(env, log, dataDir);
  const secrets = await loadSecrets(env, dataDir);
  const frontEndSecret = await loadFrontEndSecret(env, dataDir);
  const deps = createApiDeps(db, env, presence, {
    mailer,
    sessionSigningSecret: secrets.jwtSecret,
    secretHashKey: secrets.encryptionKey,
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
  const relay: RelayServer = new RelayServer(createApiAuthority(deps, log), log, {
    heartbeatMs: env.HEARTBEAT_SECONDS * 1000,
  });
  const stopCuttingRevokedShares = deps.revocations.subscribe((revocation) => {
    switch (revocation.kind) {
      case "share":
        relay.resetShareStreams(revocation.shareId);
        return;
      case "agent":
        relay.closeRevokedAgent(revocation.agentId, revocation.reason);
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
      relay,
      log,
      readClientIp,
      isSecureRequest: (request) => isSecureRequest(request, policy),
    }),
  };
  const handler = createRequestHandler({
    deps,
    // Ready = accepting (not draining for a shutdown) and the database answers.
    isReady: async () => {
      if (!relay.isAccepting) return false;
      await db.ping();
      return true;
    },
    renderMetrics: () => renderPrometheus(relay.snapshot()),
    metricsToken: env.METRICS_TOKEN,
    readClientIp,
    log,
    links,
  });
  const server = await createHttpServer(env, (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    // Health probes carry no secret, so load balancers may use plain HTTP for them.
    const refusal = path === "/healthz" || path === "/readyz" ? undefined : refuseRequest(request, policy);
    if (refusal) {
      sendJson(response, 403, { error: refusal });
      return;
    }
    handler(request, response);
  });
  server.on("upgrade", (request, socket, head) => {
    const linkTarget = links.match(request);
    if (linkTarget) {
      const refusal = refuseRequest(request, policy);
      if (refusal) refuseUpgrade(socket, 403, refusal);
      else links.proxy.handleUpgrade(request, socket, head, linkTarget);
      return;
    }
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/relay") {
      refuseUpgrade(socket, 404, "Not found: agents connect to /relay");
      return;
    }
    const refusal = refuseRequest(request, policy);
    if (refusal) {
      refuseUpgrade(socket, 403, refusal);
      return;
    }
    void relay.handleUpgrade(request, socket, head, readClientIp(request));
  });
  server.on("clientError", (_error, socket) => socket.destroy());

  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const scheme = env.TLS_CERT ? "https" : "http";
  const url = `${scheme}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`;
  // Emailed links need an address users can open; without PUBLIC_URL that is where we listen.
  deps.config.publicUrl ??= url;

  const admin = await serveAdminSocket(dataDir, ({ id: _id, ...call }) => runAdminCall(deps, call, url));

  // Without SMTP, say once where sign-in links will appear, so a local user knows where to look.
  const signInLinks = env.SMTP_URL ? undefined : join(dataDir, SIGN_IN_LINKS_FILE);
  log.info({ url, database: db.kind, dataDir, signInLinks }, "hub listening");

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopCuttingRevokedShares();
      links.proxy.close();
      await relay.shutdown();
      admin.close();
      const serverClosed = new Promise<void>((done) => server.close(() => done()));
      // Live-update (SSE) responses never end by themselves, so close() alone would wait for
      // every subscriber; let ordinary requests drain briefly, then cut what is left (EventSource
      // clients reconnect to the next hub).
      const cutConnections = setTimeout(() => server.closeAllConnections(), SHUTDOWN_DRAIN_MS);
      await serverClosed;
      clearTimeout(cutConnections);
      server.closeAllConnections();
      mailer.close?.();
      await auditPruning.stop();
      await db.close();
      await lock.release();
    })();
    return closing;
  };
  return { url, db, relay, close };
}
