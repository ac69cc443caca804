import { formatHostPort as formatAddress } from "../cli/format.js";
import type { Exposure, ReachRecord } from "../config/state.js";
import { type DoctorCheck, describeFailure, fail, pass, skip } from "./check.js";
import { probeTcp } from "./network.js";

/**
 * Each exposure's target, dialled from this machine as the agent dials it for every stream: a
 * refused or silent target means every reach of it fails, however healthy the hub is.
 */
export async function checkExposureTargets(exposures: readonly Exposure[], timeoutMs?: number): Promise<DoctorCheck[]> {
  if (exposures.length === 0) return [pass("exposures", "none on this machine")];
  return Promise.all(
    exposures.map(async (exposure) => {
      const name = `expose ${exposure.name}`;
      const address = formatAddress(exposure.host, exposure.port);
      try {
        await probeTcp(exposure.host, exposure.port, timeoutMs);
        return pass(name, `target ${address} accepts connections`);
      } catch (error) {
        return fail(
          name,
          `target ${address} does not accept connections: ${describeFailure(error)}`,
          `start the service on ${address}, or expose the right one: connect expose HOST:PORT --name ${exposure.name}`,
        );
      }
    }),
  );
}

/**
 * Each reach's local port: the running agent should be listening on it. `isAgentRunning` false
 * means nothing can listen (the agent check already fails); the ports are not dialled then.
 */
export async function checkReachPorts(
  reaches: readonly ReachRecord[],
  isAgentRunning: boolean,
  timeoutMs?: number,
): Promise<DoctorCheck[]> {
  if (reaches.length === 0) return [pass("reaches", "none on this machine")];
  return Promise.all(
    reaches.map(async (reach) => {
      const label = reach.from === undefined ? reach.service : `${reach.service} from ${reach.from}`;
      const name = `reach ${label}`;
      const address = formatAddress(reach.host, reach.port);
      if (!isAgentRunning) return skip(name, `not checked: ${address} listens only while the agent runs`);
      try {
        await probeTcp(reach.host, reach.port, timeoutMs);
        return pass(name, `${address} is listening`);
      } catch (error) {
        const from = reach.from === undefined ? "" : ` --from ${reach.from}`;
        return fail(
          name,
          `${address} does not accept connections: ${describeFailure(error)}`,
          `reach it again: connect reach ${reach.service}${from} --port ${reach.port}`,
        );
      }
    }),
  );
}
