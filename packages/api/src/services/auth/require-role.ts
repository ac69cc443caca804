import type { Principal, WorkspaceUserPrincipal } from "../../deps.js";
import {
  AppError,
  OWNER_REQUIRED_FOR_API_KEYS,
  OWNER_REQUIRED_FOR_MEMBERS,
  OWNER_REQUIRED_FOR_SETTINGS,
  USER_SESSION_REQUIRED,
} from "../../errors.js";

/** A signed-in user of the workspace, whatever their role (an API key or agent is refused). */
export function requireWorkspaceUser(principal: Principal): WorkspaceUserPrincipal {
  if (principal.kind !== "user") throw new AppError("FORBIDDEN", USER_SESSION_REQUIRED);
  return principal;
}

/** Members are managed by a person: an owner signed in, never a key or an agent. */
export function requireMembersOwner(principal: Principal): WorkspaceUserPrincipal {
  const user = requireWorkspaceUser(principal);
  if (user.role !== "owner") throw new AppError("FORBIDDEN", OWNER_REQUIRED_FOR_MEMBERS);
  return user;
}

/**
 * Workspace settings (the end-to-end policy) are a person's decision: an owner signed in. Not an
 * API key: a leaked key must not be able to switch a workspace's encryption down to "preferred".
 */
export function requireSettingsOwner(principal: Principal): WorkspaceUserPrincipal {
  const user = requireWorkspaceUser(principal);
  if (user.role !== "owner") throw new AppError("FORBIDDEN", OWNER_REQUIRED_FOR_SETTINGS);
  return user;
}

/**
 * API keys are managed by an owner, or with an API key (keys have full workspace scope, which is
 * how `connect-hub workspace create`'s first key can mint the next). Members and agents cannot.
 */
export function requireApiKeyManager(principal: Principal): void {
  if (principal.kind === "apiKey") return;
  if (principal.kind === "agent") {
    throw new AppError("FORBIDDEN", "Agent tokens cannot manage API keys: use an API key, or sign in as an owner");
  }
  if (principal.role !== "owner") throw new AppError("FORBIDDEN", OWNER_REQUIRED_FOR_API_KEYS);
}
