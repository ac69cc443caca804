import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { DEFAULT_CONFIG_DIR_NAME } from "../config/paths.js";
import { ConnectError } from "../errors.js";

/** Everything a unit file or plist says about the agent it runs; paths are absolute. */
export interface AgentService {
  /** private-connect-agent, or private-connect-agent-<suffix> for another config directory. */
  name: string;
  /** The node binary, resolved, so the service does not depend on the PATH of whoever starts it. */
  nodePath: string;
  /** The `connect` entry script (bin/run.js), resolved. */
  scriptPath: string;
  configDir: string;
  logPath: string;
  /** Variables the agent reads that were set at install time (CONNECT_ALLOW_INSECURE...). */
  environment: Readonly<Record<string, string>>;
  /** The user a system service runs as; a user service runs as its owner. */
  user?: string;
}

export const SERVICE_BASE_NAME = "private-connect-agent";
const SUFFIX = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/** The arguments the service runs with: `connect up` in the foreground, for this config directory. */
export function buildAgentArguments(service: AgentService): string[] {
  return [service.nodePath, service.scriptPath, "up", "--config", service.configDir];
}

/**
 * Names the service after its config directory, so agents of several directories can each have
 * one: none for ~/.private-connect, the directory's name otherwise (~/.private-connect-laptop ->
 * laptop), or a short hash when the name has nothing usable. `--name` overrides it.
 */
export function resolveServiceName(options: { configDir: string; homeDir: string; requested?: string | undefined }): string {
  if (options.requested !== undefined) {
    const requested = options.requested.trim().toLowerCase();
    if (!SUFFIX.test(requested)) {
      throw new ConnectError(
        "INVALID_INPUT",
        `--name "${options.requested}" is not usable in a service name: use up to 40 letters, digits, - or _`,
      );
    }
    return `${SERVICE_BASE_NAME}-${requested}`;
  }
  if (options.configDir === join(options.homeDir, DEFAULT_CONFIG_DIR_NAME)) return SERVICE_BASE_NAME;
  const suffix = basename(options.configDir)
    .toLowerCase()
    .replace(/^\.+/, "")
    .replace(/^private-connect[-_.]?/, "")
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+|[-_]+$/g, "");
  if (SUFFIX.test(suffix)) return `${SERVICE_BASE_NAME}-${suffix}`;
  return `${SERVICE_BASE_NAME}-${createHash("sha256").update(options.configDir).digest("hex").slice(0, 8)}`;
}
