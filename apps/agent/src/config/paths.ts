import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const DEFAULT_CONFIG_DIR_NAME = ".private-connect";

export interface ConfigPaths {
  dir: string;
  identity: string;
  state: string;
  socket: string;
  pid: string;
  log: string;
  /** Why the agent last stopped on its own (the hub refused it): what `connect status` reports. */
  lastStop: string;
  /** This agent's long-term end-to-end key pair (owner-only). */
  e2eKey: string;
  /** The end-to-end keys of other agents this one pinned, and which were verified. */
  knownAgents: string;
  /** This agent's certificate from its workspace key, once installed (connect workspace-key install). */
  workspaceCertificate: string;
  /** On an owner's machine: the workspace key that signs agents' certificates (connect workspace-key create). */
  workspaceSigningKey: string;
}

/**
 * Picks the config directory: an explicit `--config DIR` wins over `CONNECT_HOME`, which wins
 * over `~/.private-connect`. The result is absolute so a detached agent started from another
 * working directory finds the same files.
 */
export function resolveConfigDir(options: { flag?: string | undefined; connectHome?: string | undefined }): string {
  const chosen = options.flag ?? options.connectHome ?? join(homedir(), DEFAULT_CONFIG_DIR_NAME);
  return resolve(chosen);
}

export function getConfigPaths(dir: string): ConfigPaths {
  return {
    dir,
    identity: join(dir, "identity.json"),
    state: join(dir, "state.json"),
    socket: join(dir, "agent.sock"),
    pid: join(dir, "agent.pid"),
    log: join(dir, "agent.log"),
    lastStop: join(dir, "last-stop.json"),
    e2eKey: join(dir, "e2e-key.json"),
    knownAgents: join(dir, "known-agents.json"),
    workspaceCertificate: join(dir, "workspace-certificate.json"),
    workspaceSigningKey: join(dir, "workspace-signing-key.json"),
  };
}
