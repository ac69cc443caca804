import type { IncomingMessage, ServerResponse } from "node:http";
import { isDatabaseUnavailableError } from "@private-connect/db";
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { AgentPrincipal, ApiDeps, ApiKeyPrincipal, Caller, Principal, UserPrincipal } from "./deps.js";
import { AppError, DATABASE_UNAVAILABLE, INTERNAL_ERROR, toTRPCError, USER_SESSION_REQUIRED } from "./errors.js";
import { authenticateBearer } from "./services/auth/authenticate-bearer.js";
import { authenticateSession } from "./services/auth/authenticate-session.js";
import { readSignedSessionCookie, signCookieValue } from "./services/auth/cookie-signature.js";
import { resolveUserWorkspace } from "./services/auth/resolve-user-workspace.js";
import {
  buildClearedSessionCookie,
  buildSessionCookie,
  type ClearedCookie,
  type ResponseCookie,
  readCookie,
  SESSION_COOKIE_NAME,
  serializeClearedCookie,
  serializeCookie,
} from "./services/auth/session-cookie.js";

export interface Context {
  deps: ApiDeps;
  ip: string | undefined;
  userAgent: string | undefined;
  /** The Host the request was addressed to: decides the session cookie's Secure flag. */
  host: string | undefined;
  /**
   * Resolves the caller once per request, on first use. A closure rather than a `bearer` field
   * so the secret is not part of the context object that a logger might serialise.
   */
  resolvePrincipal(): Promise<Principal>;
  /**
   * The caller before any workspace is required: like resolvePrincipal, except that a signed-in
   * user who named no workspace (x-pc-workspace) is returned as is. Bearer credentials win over
   * a session cookie when a request carries both.
   */
  resolveCaller(): Promise<Caller>;
  /** A cookie of the request (only the ones the transport let through, see createContextFromRequest). */
  getCookie(name: string): string | undefined;
  /** Asks the transport to send a Set-Cookie with the response. */
  setCookie(cookie: ResponseCookie): void;
  /** Asks the transport to expire a cookie in the browser. */
  clearCookie(cookie: ClearedCookie): void;
}

export interface CreateContextInnerOptions {
  deps: ApiDeps;
  bearer?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** The request's Cookie header; the pc_session cookie in it signs a user in. */
  cookieHeader?: string | undefined;
  /** The workspace a signed-in user acts in (the x-pc-workspace header). Ignored for bearers. */
  workspaceId?: string | undefined;
  /** The request's Host header; a loopback host gets a session cookie without Secure. */
  host?: string | undefined;
  /** Where Set-Cookie goes. Without it, procedures that set cookies fail loudly. */
  setCookie?: ((cookie: ResponseCookie) => void) | undefined;
  clearCookie?: ((cookie: ClearedCookie) => void) | undefined;
}

const MISSING_CREDENTIALS =
  "Missing credentials: send an API key or agent token as Authorization: Bearer <token> (run connect up to get one)";

function failWithoutCookieSupport(): never {
  throw new Error("This transport cannot set cookies: pass setCookie and clearCookie to createContextInner");
}

/** Transport-free context: what tests use with createCaller. */
export async function createContextInner(options: CreateContextInnerOptions): Promise<Context> {
  const { deps, bearer } = options;
  const setCookie = options.setCookie ?? failWithoutCookieSupport;
  const clearCookie = options.clearCookie ?? failWithoutCookieSupport;
  const sessionToken = readCookie(options.cookieHeader, SESSION_COOKIE_NAME);
  let caller: Promise<Caller> | undefined;
  let principal: Promise<Principal> | undefined;

  async function resolveSessionUser(token: string): Promise<UserPrincipal> {
    try {
      const session = await authenticateSession(deps, token);
      // The cookie's lifetime follows the session's: re-sent each time the session slides.
      if (session.isRenewed) options.setCookie?.(buildSessionCookie(token, options.host));
      return session.principal;
    } catch (error) {
      // A dead session's cookie is useless: have the browser drop it.
      if (error instanceof AppError) options.clearCookie?.(buildClearedSessionCookie(options.host));
      throw error;
    }
  }

  const context: Context = {
    deps,
    ip: options.ip,
    userAgent: options.userAgent,
    host: options.host,
    resolveCaller() {
      caller ??=
        bearer !== undefined && bearer !== ""
          ? authenticateBearer(deps, bearer, { ip: options.ip, userAgent: options.userAgent, via: "api" })
          : sessionToken !== undefined && sessionToken !== ""
            ? resolveSessionUser(sessionToken)
            : Promise.reject(new AppError("UNAUTHORIZED", MISSING_CREDENTIALS));
      return caller;
    },
    resolvePrincipal() {
      principal ??= context
        .resolveCaller()
        .then<Principal>((resolved) =>
          resolved.kind === "user" ? resolveUserWorkspace(deps, resolved, options.workspaceId) : resolved,
        );
      return principal;
    },
    getCookie(name) {
      return readCookie(options.cookieHeader, name);
    },
    setCookie,
    clearCookie,
  };
  return context;
}

/**
 * Whether a request may use the session cookie. Browsers attach cookies to cross-site form posts
 * from pages that are "same site" (a public link on a sibling subdomain, say), which SameSite=Lax
 * does not stop; tRPC's clients send JSON, which a page of another origin cannot send without a
 * CORS preflight that the hub never approves. So: GET (queries, no side effects) and JSON only.
 */
function canUseCookies(req: IncomingMessage): boolean {
  if (req.method === "GET" || req.method === "HEAD") return true;
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  return contentType === "application/json";
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The workspace a signed-in user's request names: the x-pc-workspace header, or, for a
 * subscription only, the `workspaceId` connection parameter, since an SSE EventSource cannot send
 * headers. Queries and mutations ignore connection parameters: tRPC reads them from the query
 * string of any request, which any link can carry along with the victim's cookie, while a
 * cross-site page cannot send a custom header without a CORS preflight the hub never approves.
 * tRPC refuses batches that mix a subscription with other calls, so `type` holds for every call.
 */
function readRequestedWorkspaceId(header: string | undefined, info: RequestInfo | undefined): string | undefined {
  const fromParams = info?.type === "subscription" ? info.connectionParams?.workspaceId : undefined;
  return (header ?? fromParams)?.trim();
}

/** What createContextFromRequest reads of tRPC's request info. */
export interface RequestInfo {
  /** The type of the request's procedures; "unknown" when none was found. */
  type?: string;
  connectionParams: Record<string, string | undefined> | null;
}

/**
 * Context for Node's http server (the hub's tRPC handler). Reads the Cookie, Host and
 * x-pc-workspace headers (or a subscription's connection parameter, see readRequestedWorkspaceId),
 * and appends Set-Cookie headers to `res`. Cookies set after the response headers went out (a
 * streaming batch) are dropped, so sign-in calls must use a non-streaming link.
 */
export function createContextFromRequest(
  deps: ApiDeps,
  /** How to tell the client's address; the hub passes its TRUST_PROXY-aware reading. */
  readClientIp: (req: IncomingMessage) => string | undefined = (req) => req.socket.remoteAddress,
): (options: { req: IncomingMessage; res: ServerResponse; info?: RequestInfo }) => Promise<Context> {
  const signingSecret = deps.config.sessionSigningSecret;
  return ({ req, res, info }) => {
    const appendSetCookie = (header: string) => {
      if (!res.headersSent) res.appendHeader("set-cookie", header);
    };
    return createContextInner({
      deps,
      bearer: parseBearer(req.headers.authorization),
      // By default the socket's peer: trusting X-Forwarded-For is a deployment decision.
      ip: readClientIp(req),
      userAgent: req.headers["user-agent"],
      cookieHeader: canUseCookies(req) ? readSessionCookieHeader(req.headers.cookie, signingSecret) : undefined,
      workspaceId: readRequestedWorkspaceId(firstHeader(req.headers["x-pc-workspace"]), info),
      host: req.headers.host,
      setCookie: (cookie) =>
        appendSetCookie(
          serializeCookie(signingSecret ? { ...cookie, value: signCookieValue(cookie.value, signingSecret) } : cookie),
        ),
      clearCookie: (cookie) => appendSetCookie(serializeClearedCookie(cookie)),
    });
  };
}

function readSessionCookieHeader(header: string | undefined, signingSecret: string | undefined): string | undefined {
  return signingSecret ? readSignedSessionCookie(header, signingSecret) : header;
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it is. */
export function parseBearer(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return match?.[1];
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces to callers, whatever NODE_ENV says.
  isDev: false,
  sse: {
    // Idle live-update streams would otherwise be cut by proxies; the ping also tells the client
    // the hub is still there, and it reconnects (re-authenticating) after a silence.
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 45_000 },
  },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    const appCode = cause instanceof AppError ? cause.code : undefined;
    const retryAfterSeconds = cause instanceof AppError ? cause.retryAfterSeconds : undefined;
    return {
      ...shape,
      // Only AppError messages are written for users; anything else may carry SQL or internals.
      message: error.code === "INTERNAL_SERVER_ERROR" && appCode === undefined ? INTERNAL_ERROR : shape.message,
      data: { ...shape.data, appCode: appCode ?? null, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Turns AppErrors thrown anywhere below into the matching tRPC error, and zod input errors into a
 * readable sentence instead of a JSON dump of issues.
 */
const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const { error } = result;
  if (error.cause instanceof AppError) throw toTRPCError(error.cause);
  // A database that is down is worth saying as such: the caller should simply retry.
  if (isDatabaseUnavailableError(error.cause)) {
    throw toTRPCError(new AppError("UNAVAILABLE", DATABASE_UNAVAILABLE, { cause: error.cause }));
  }
  if (error.code === "BAD_REQUEST" && error.cause instanceof ZodError) {
    throw new TRPCError({ code: "BAD_REQUEST", message: describeIssues(error.cause), cause: error.cause });
  }
  return result;
});

function describeIssues(error: ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}

export const publicProcedure = t.procedure.use(errorMapping);

/** Any authenticated principal (API key, agent, or signed-in user with x-pc-workspace), with its workspace. */
export const workspaceProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const principal = await ctx.resolvePrincipal();
  return next({ ctx: { principal } });
});

/** A signed-in user (session cookie), with or without a workspace. */
export const userProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const caller = await ctx.resolveCaller();
  if (caller.kind !== "user") throw new AppError("FORBIDDEN", USER_SESSION_REQUIRED);
  const principal: UserPrincipal = caller;
  return next({ ctx: { principal } });
});

export const apiKeyProcedure = workspaceProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== "apiKey") {
    throw new AppError(
      "FORBIDDEN",
      "This call needs an API key, not an agent token: pass --api-key <key> (from connect-hub create-workspace or the dashboard)",
    );
  }
  const principal: ApiKeyPrincipal = ctx.principal;
  return next({ ctx: { principal } });
});

export const agentProcedure = workspaceProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== "agent") {
    throw new AppError("FORBIDDEN", "This call needs an agent token, not an API key: run connect up --api-key <key> first");
  }
  const principal: AgentPrincipal = ctx.principal;
  return next({ ctx: { principal } });
});
