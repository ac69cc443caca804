export {
  type AgentTokenAuth,
  type ApiKeyAuth,
  type Database,
  type DatabaseKind,
  type OpenDatabaseOptions,
  openDatabase,
  RUNTIME_ROLE,
  withRuntimeRoleOption,
} from "./database.js";
export { isSha256Hex, sha256Hex } from "./hash.js";
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
  type ApiKey,
  isUniqueConstraintError,
  type Membership,
  Prisma,
  PrismaClient,
  type Service,
  type User,
  type Workspace,
  type WorkspaceTx,
} from "./prisma.js";
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
