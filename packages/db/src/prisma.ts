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
