import { formatHostPort } from "../cli/format.js";
import { ConnectError } from "../errors.js";
import { PROJECT_REACH_HOST, type ProjectFile, type ProjectService, shiftPort } from "../project/index.js";
import type { ReachInfo } from "../sdk/agent.js";
import { type DevReach, type DevSession, isSameReach } from "./dev-sessions.js";

export interface PlannedReach {
  service: ProjectService;
  reach: DevReach;
  /** Already reached on that port: nothing to bind. */
  isPresent: boolean;
  /** Bound by connect dev (now or by an earlier run for this project): --stop may stop it. */
  isMadeByDev: boolean;
}

/**
 * What connect dev will do for each service, decided before anything is bound: a reach already
 * there on the same port is used as it is (and stays the user's when the user made it); one on
 * another port is refused, since the file's variables would point at a port nobody listens on.
 */
export function planReaches(
  project: ProjectFile,
  portOffset: number,
  existing: readonly ReachInfo[],
  session: DevSession | undefined,
): PlannedReach[] {
  return project.services.map((service) => {
    const port = shiftPort(service.port, portOffset);
    if (port < 1 || port > 65535) {
      throw new ConnectError(
        "INVALID_INPUT",
        `--port-offset ${portOffset} moves ${service.name}'s port ${service.port} to ${port}, outside 1-65535: choose a smaller offset`,
      );
    }
    const reach: DevReach = {
      service: service.name,
      ...(service.from === undefined ? {} : { from: service.from }),
      host: PROJECT_REACH_HOST,
      port,
    };
    const present = existing.find((info) => isSameReach(info, reach));
    if (present === undefined) return { service, reach, isPresent: false, isMadeByDev: true };
    if (present.port !== port || present.host !== PROJECT_REACH_HOST) {
      const isEarlierDevReach = session?.reaches.some((made) => isSameReach(made, reach) && made.port === present.port) ?? false;
      if (isEarlierDevReach) {
        throw new ConnectError(
          "INVALID_INPUT",
          `${service.name} is still reached on ${formatHostPort(present.host, present.port)} by an earlier connect dev for ${project.path}: run connect dev --stop first, then connect dev with the new ports`,
        );
      }
      const stop = service.from === undefined ? service.name : `${service.name} --from ${service.from}`;
      throw new ConnectError(
        "INVALID_INPUT",
        `${service.name} is already reached on ${formatHostPort(present.host, present.port)}, not on ${formatHostPort(PROJECT_REACH_HOST, port)} as ${project.path} asks: stop that reach with connect reach --stop ${stop}, or shift the file's ports with --port-offset`,
      );
    }
    const isMadeByDev = session?.reaches.some((made) => isSameReach(made, reach) && made.port === port) ?? false;
    return { service, reach, isPresent: true, isMadeByDev };
  });
}
