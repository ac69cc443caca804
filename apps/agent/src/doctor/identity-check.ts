import type { AgentIdentity } from "../config/identity.js";
import { readIdentity } from "../config/identity.js";
import { type DoctorCheck, describeFailure, fail, pass } from "./check.js";

const NAME = "identity";

/** Whether this directory holds a registered agent, and which: every hub check needs its URL and token. */
export async function checkIdentity(identityPath: string): Promise<{ check: DoctorCheck; identity?: AgentIdentity }> {
  let identity: AgentIdentity | undefined;
  try {
    identity = await readIdentity(identityPath);
  } catch (error) {
    return {
      check: fail(NAME, describeFailure(error), "fix or remove it, then register again: connect up --hub URL --api-key KEY"),
    };
  }
  if (identity === undefined) {
    return {
      check: fail(
        NAME,
        `No ${identityPath}: this machine is not registered`,
        "connect up --hub URL --api-key KEY, or connect login --hub URL",
      ),
    };
  }
  return {
    check: pass(
      NAME,
      `agent ${identity.label} (${identity.agentId}) of workspace ${identity.workspace.name} on ${identity.hubUrl}`,
    ),
    identity,
  };
}
