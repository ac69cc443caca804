import { normalizeHubUrl } from "../config/hub-url.js";
import { ConnectError } from "../errors.js";
import type { ProjectFile } from "./project-file.js";

/**
 * A hub URL reduced to what names the same server: scheme (ws mapped to http), lowercase host,
 * no default port, no trailing slash. Undefined when it is not a URL at all.
 */
export function normalizeProjectHubUrl(raw: string): string | undefined {
  try {
    // Only compared, never dialed: whether http:// would be allowed is not the question here.
    const normalized = normalizeHubUrl(raw, { isInsecureAllowed: true });
    const url = new URL(normalized);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    return undefined;
  }
}

/**
 * Refuses (ConnectError) a project whose hub: is not the agent's own hub (compared as normalized
 * URLs). A repository's file must never choose where this machine's credentials go: the agent
 * talks only to the hub it registered with, and a file naming another one is a mistake or a trap.
 */
export function assertProjectHub(project: ProjectFile, agentHubUrl: string): void {
  if (project.hub === undefined) return;
  const own = normalizeProjectHubUrl(agentHubUrl) ?? agentHubUrl;
  if (normalizeProjectHubUrl(project.hub) === own) return;
  throw new ConnectError(
    "INVALID_INPUT",
    `${project.path} names the hub ${project.hub}, but this agent's hub is ${own}: nothing was reached and nothing was sent to ${project.hub}. Remove hub: from the file if the project is meant for your hub, or use an agent registered with that hub (connect up --hub URL --config DIR)`,
  );
}
