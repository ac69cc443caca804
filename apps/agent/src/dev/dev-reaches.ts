import type { ControlClient } from "../daemon/control-client.js";
import { ConnectError, describeError, isConnectError } from "../errors.js";
import type { DevReach } from "./dev-sessions.js";
import type { PlannedReach } from "./plan-reaches.js";

/**
 * Binds every planned reach that is not there yet, through the running agent. On a failure the
 * ones this call bound are unbound again, so a half-done connect dev leaves nothing behind.
 */
export async function bindPlannedReaches(
  control: ControlClient,
  plan: readonly PlannedReach[],
  warn: (line: string) => void,
): Promise<DevReach[]> {
  const made: DevReach[] = [];
  for (const { reach, isPresent } of plan) {
    if (isPresent) continue;
    try {
      await control.request("reach", {
        service: reach.service,
        host: reach.host,
        port: reach.port,
        ...(reach.from === undefined ? {} : { from: reach.from }),
      });
    } catch (error) {
      await stopDevReaches(control, made, warn);
      throw explainReachFailure(error, reach);
    }
    made.push(reach);
  }
  return made;
}

/** Best effort, each on its own: one that fails to stop must not keep the others bound. */
export async function stopDevReaches(
  control: ControlClient,
  reaches: readonly DevReach[],
  warn: (line: string) => void,
): Promise<void> {
  for (const reach of reaches) {
    try {
      await control.request("stopReach", reach.from === undefined ? { service: reach.service } : reach);
    } catch (error) {
      warn(
        `Could not stop reaching ${reach.service}: ${describeError(error)}; stop it with connect reach --stop ${reach.service}`,
      );
    }
  }
}

function explainReachFailure(error: unknown, reach: DevReach): unknown {
  if (isConnectError(error, "SERVICE_NOT_FOUND")) {
    const what = reach.from === undefined ? reach.service : `${reach.service} from ${reach.from}`;
    return new ConnectError(
      "SERVICE_NOT_FOUND",
      `Service not found: this agent can reach no service ${what}; list the ones it can with connect services (nothing was left reached)`,
      { cause: error },
    );
  }
  if (isConnectError(error)) {
    return new ConnectError(error.code, `${error.message} (reaching ${reach.service}; nothing was left reached)`, {
      cause: error,
    });
  }
  return error;
}
