import type { IncomingMessage, ServerResponse } from "node:http";
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { AgentPrincipal, ApiDeps, ApiKeyPrincipal, Principal } from "./deps.js";
import { AppError, INTERNAL_ERROR, toTRPCError } from "./errors.js";
import { authenticateBearer } from "./services/auth/authenticate-bearer.js";

export interface Context {
  deps: ApiDeps;
  ip: string | undefined;
  userAgent: string | undefined;
  /**
   * Resolves the caller once per request, on first use. A closure rather than a `bearer` field
   * so the secret is not part of the context object that a logger might serialise.
   */
  resolvePrincipal(): Promise<Principal>;
}

export interface CreateContextInnerOptions {
  deps: ApiDeps;
  bearer?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

const MISSING_CREDENTIALS =
  "Missing credentials: send an API key or agent token as Authorization: Bearer <token> (run connect up to get one)";

/** Transport-free context: what tests use with createCaller. */
export async function createContextInner(options: CreateContextInnerOptions): Promise<Context> {
  const { deps, bearer } = options;
  let principal: Promise<Principal> | undefined;
  return {
    deps,
    ip: options.ip,
    userAgent: options.userAgent,
    resolvePrincipal() {
      principal ??=
        bearer === undefined || bearer === ""
          ? Promise.reject(new AppError("UNAUTHORIZED", MISSING_CREDENTIALS))
          : authenticateBearer(deps, bearer);
      return principal;
    },
  };
}

/** Context for Node's http server (the hub's tRPC handler). */
export function createContextFromRequest(
  deps: ApiDeps,
): (options: { req: IncomingMessage; res: ServerResponse }) => Promise<Context> {
  return ({ req }) =>
    createContextInner({
      deps,
      bearer: parseBearer(req.headers.authorization),
      // The socket's peer, not X-Forwarded-For: trusting that header is a deployment decision.
      ip: req.socket.remoteAddress,
      userAgent: req.headers["user-agent"],
    });
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
    return {
      ...shape,
      // Only AppError messages are written for users; anything else may carry SQL or internals.
      message: error.code === "INTERNAL_SERVER_ERROR" && appCode === undefined ? INTERNAL_ERROR : shape.message,
      data: { ...shape.data, appCode: appCode ?? null },
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

/** Any authenticated principal (API key or agent), with its workspace. */
export const workspaceProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const principal = await ctx.resolvePrincipal();
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
