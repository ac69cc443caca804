// The generated client lives in src/generated (gitignored, produced by `npm run build`). Only
// this module imports it, so the rest of the code base sees one stable surface.
import { Prisma, PrismaClient } from "./generated/prisma/client.js";

export type {
  Agent,
  AgentIpChange,
  ApiKey,
  AuditEvent,
  DeviceAuthorization,
  JoinedShare,
  Membership,
  PublicLink,
  Service,
  Share,
  ShareGrant,
  User,
  Workspace,
} from "./generated/prisma/client.js";
export { Prisma, PrismaClient };

/** The client handed to withWorkspace callbacks: a PrismaClient without $transaction/$connect. */
export type WorkspaceTx = Prisma.TransactionClient;

/** True for a unique-constraint violation (Prisma P2002), e.g. a duplicate service name or slug. */
export function isUniqueConstraintError(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}

// Prisma's codes for "the database is not there right now", and the driver adapter's kinds.
const UNREACHABLE_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const UNREACHABLE_ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
const UNREACHABLE_SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"]);

/**
 * True when an error means the database could not be reached or dropped the connection (server
 * down, restarting, refusing connections, pool exhausted), as opposed to a query that failed.
 * Callers answer "try again shortly" for these instead of "internal error".
 */
export function isDatabaseUnavailableError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const candidate = current as {
      code?: unknown;
      meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
      cause?: unknown;
    };
    const code = typeof candidate.code === "string" ? candidate.code : undefined;
    if (code !== undefined) {
      if (UNREACHABLE_PRISMA_CODES.has(code) || UNREACHABLE_SOCKET_CODES.has(code)) return true;
      // PostgreSQL: class 08 is connection exceptions; 57P01-57P03 are shutdowns and startup.
      if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[1-3]$/.test(code)) return true;
    }
    const kind = candidate.meta?.driverAdapterError?.cause?.kind;
    if (typeof kind === "string" && UNREACHABLE_ADAPTER_KINDS.has(kind)) return true;
    if (current instanceof Prisma.PrismaClientInitializationError) return true;
    current = candidate.cause;
  }
  return false;
}
