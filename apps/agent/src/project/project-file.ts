import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { CheckProtocol } from "../check/check-service.js";

/** The file a project commits to say which services it needs. */
export const PROJECT_FILE_NAME = "pconnect.yml";

/** One service a project needs, reached on `port` of this machine. */
export interface ProjectService {
  name: string;
  port: number;
  /** The workspace that shared the service, as in connect reach --from. */
  from?: string;
  /** The environment variable that receives the service's address (or the filled-in url). */
  env?: string;
  /** A template for env's value; only {port} and {host} are filled in. */
  url?: string;
  /** What the service speaks, when guessing from the port would be wrong. */
  protocol?: CheckProtocol;
}

export interface ProjectFile {
  /** The file it was read from, as given. */
  path: string;
  /** The hub the project expects; only ever compared with the agent's own, never contacted. */
  hub?: string;
  services: ProjectService[];
}

/**
 * The project file for a directory: `<dir>/pconnect.yml`, or `file` (resolved against `dir`)
 * when one was given with --file; undefined when there is none. Only this directory: a file in
 * a parent directory belongs to some other project, and reaching its services would surprise.
 */
export function findProjectFile(dir: string, file?: string): string | undefined {
  const path = resolve(dir, file ?? PROJECT_FILE_NAME);
  return existsSync(path) ? path : undefined;
}
