export { AUDIT_RETENTION_MAX_DAYS, AUDIT_RETENTION_MIN_DAYS, pruneAuditEvents } from "./audit-retention.js";
export {
  type AgentTokenAuth,
  type AgentTokenSlot,
  type ApiKeyAuth,
  type Database,
  type DatabaseKind,
  type DeviceAuthorizationState,
  type OpenDatabaseOptions,
  openDatabase,
  RUNTIME_ROLE,
  type StartDeviceAuthorizationInput,
  withRuntimeRoleOption,
} from "./database.js";
export {
  type DecideDeviceAuthorizationInput,
  type DecidedDeviceAuthorization,
  decideDeviceAuthorization,
} from "./device-authorizations.js";
export { isSha256Hex, sha256Hex } from "./hash.js";
export {
  authenticateSessionHash,
  consumeMagicLinkHash,
  createSessionHash,
  ensureUserByEmail,
  type IdentitySql,
  issueMagicLinkHash,
  listUserWorkspaces,
  type MagicLinkSignIn,
  revokeSessionHash,
  type SessionAuth,
  type SessionWindow,
  type UserWorkspace,
} from "./identity.js";
export {
  type AcceptedInvitation,
  acceptInvitation,
  declineInvitation,
  listInvitationsForUser,
  type PendingInvitation,
} from "./invitations.js";
export {
  DEFAULT_MIGRATIONS_DIR,
  type MigrateOptions,
  type MigrateResult,
  MigrationChecksumError,
  type MigrationTarget,
  migrate,
} from "./migrate.js";
export {
  type Agent,
  type AgentIpChange,
  type ApiKey,
  type AuditEvent,
  type DeviceAuthorization,
  isDatabaseUnavailableError,
  isUniqueConstraintError,
  type JoinedShare,
  type Membership,
  Prisma,
  PrismaClient,
  type PublicLink,
  type Service,
  type Share,
  type ShareGrant,
  type User,
  type Workspace,
  type WorkspaceTx,
} from "./prisma.js";
export {
  claimKeyFingerprint,
  findPublicLinkBySlugHash,
  type JoinedShareGrant,
  joinShareByCodeHash,
  type LegacySecretHash,
  listLegacySecretHashes,
  readKeyFingerprint,
  rekeySecretHash,
} from "./sharing.js";
export {
  assertTenantTablesIsolated,
  type CatalogQuery,
  describeIsolationExpression,
  inspectTenantTables,
  type TenantTable,
  type TenantTableProblem,
  type TenantTablesReport,
} from "./tenant-tables.js";
export { isUuid } from "./uuid.js";
