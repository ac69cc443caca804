import { lstat } from "node:fs/promises";
import type { ConfigPaths } from "../config/paths.js";
import { isProcessAlive, readPidFile } from "../daemon/agent-process.js";
import type { ControlClient } from "../daemon/control-client.js";
import type { AgentProcessStatus } from "../daemon/control-protocol.js";
import { isConnectError } from "../errors.js";
import { type DoctorCheck, describeFailure, fail, NETWORK_TIMEOUT_MS, pass, warn } from "./check.js";

const NAME = "agent";

/**
 * Whether an agent runs for this directory: its control socket answers "status" and the pid it
 * reports is alive. Read-only on purpose: unlike `connect up`, the doctor leaves a stale socket
 * or pid file where it is and says so, since the user may want to look at it first.
 */
export async function checkAgentProcess(
  paths: ConfigPaths,
  control: ControlClient,
): Promise<{ check: DoctorCheck; status?: AgentProcessStatus }> {
  const pidInFile = await readPidFile(paths.pid);
  let status: AgentProcessStatus;
  try {
    status = await control.request("status", {}, { timeoutMs: NETWORK_TIMEOUT_MS });
  } catch (error) {
    if (!isConnectError(error, "AGENT_NOT_RUNNING")) {
      return {
        check: fail(
          NAME,
          `The control socket ${paths.socket} did not answer: ${describeFailure(error)}`,
          `see ${paths.log}, then restart the agent: connect down && connect up`,
        ),
      };
    }
    const hasSocket = await lstat(paths.socket).then(
      () => true,
      () => false,
    );
    const livePid = pidInFile !== undefined && isProcessAlive(pidInFile) ? pidInFile : undefined;
    if (livePid !== undefined) {
      // A process holds the pid but not the socket: a stuck agent, or a pid the system reused.
      return {
        check: fail(
          NAME,
          `${paths.pid} names pid ${livePid}, which is alive, but nothing answers on ${paths.socket}`,
          `if pid ${livePid} is a stuck connect agent, stop it (kill ${livePid}); then connect up`,
        ),
      };
    }
    if (hasSocket) {
      return {
        check: fail(
          NAME,
          `Stale control socket ${paths.socket}: the agent that made it is gone${pidInFile === undefined ? "" : ` (pid ${pidInFile} is not running)`}`,
          "start the agent again: connect up (it replaces the stale socket)",
        ),
      };
    }
    return { check: fail(NAME, `No agent is running for ${paths.dir}`, "start it: connect up (or connect up --detach)") };
  }
  if (!isProcessAlive(status.pid)) {
    return {
      check: fail(
        NAME,
        `The control socket answered for pid ${status.pid}, which is not alive`,
        "restart the agent: connect down && connect up",
      ),
      status,
    };
  }
  if (pidInFile !== status.pid) {
    return {
      check: warn(
        NAME,
        `Running as pid ${status.pid}, but ${paths.pid} ${pidInFile === undefined ? "is missing" : `says ${pidInFile}`}`,
        "restart the agent so it rewrites its pid file: connect down && connect up",
      ),
      status,
    };
  }
  return { check: pass(NAME, `running as pid ${status.pid}, control socket answering`), status };
}
