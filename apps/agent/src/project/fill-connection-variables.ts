import type { ProjectFile } from "./project-file.js";
import { fillUrlTemplate } from "./url-template.js";

/** Reaches listen on loopback only: a project file cannot make a service visible to the network. */
export const PROJECT_REACH_HOST = "127.0.0.1";

export interface ConnectionVariable {
  service: string;
  name: string;
  value: string;
}

/** The local port a service is reached on, once shifted by --port-offset. */
export function shiftPort(port: number, portOffset = 0): number {
  return port + portOffset;
}

/**
 * The environment variables the project's services fill in, for local ports shifted by
 * portOffset: the url template with {host} and {port} filled in, or HOST:PORT without one.
 * Services without env: add no variable.
 */
export function fillConnectionVariables(project: ProjectFile, portOffset = 0): ConnectionVariable[] {
  return project.services.flatMap((service) => {
    if (service.env === undefined) return [];
    const port = String(shiftPort(service.port, portOffset));
    const value =
      service.url === undefined
        ? `${PROJECT_REACH_HOST}:${port}`
        : fillUrlTemplate(service.url, { host: PROJECT_REACH_HOST, port });
    return [{ service: service.name, name: service.env, value }];
  });
}
