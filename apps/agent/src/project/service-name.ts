/**
 * What the hub accepts as a service name (packages/api's SERVICE_NAME_PATTERN; the agent imports
 * that package as types only, so the pattern is repeated here). Workspace slugs, which `from:`
 * names, have the same shape.
 */
export const PROJECT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A variable name every shell and dotenv reader takes without quoting. */
export const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;
