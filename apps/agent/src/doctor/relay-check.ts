import { PROTOCOL_VERSIONS } from "@private-connect/protocol";
import type { AgentProcessStatus } from "../daemon/control-protocol.js";
import { describeVersionRefusal } from "../tunnel/tunnel-client.js";
import { type DoctorCheck, describeFailure, fail, pass, skip, warn } from "./check.js";
import type { RelayProbeResult } from "./relay-probe.js";

const NAME = "protocol";
const VERSIONS = `protocol ${PROTOCOL_VERSIONS.join(", ")}`;

export interface RelayCheckInput {
  /** The running agent's own view; its connection already went through the hello. */
  status: AgentProcessStatus | undefined;
  /** Whether the prerequisites passed (reachable hub, accepted token): else the probe would only repeat them. */
  isHubUsable: boolean;
  /** Whether the hub sees this agent connected from somewhere (a copy of this identity elsewhere). */
  isConnectedElsewhere(): Promise<boolean>;
  probe(): Promise<RelayProbeResult>;
  agentVersion: string;
  logPath: string;
}

/**
 * Whether the hub's relay speaks this agent's protocol version. A running agent already said
 * hello, so its state answers it. Otherwise one hello is sent, as the agent would, unless the
 * agent is connected from elsewhere: that hello would replace the other connection.
 */
export async function checkRelay(input: RelayCheckInput): Promise<DoctorCheck> {
  const { status } = input;
  if (status !== undefined) {
    if (status.hub.state === "connected") return pass(NAME, `the running agent is connected: the hub agreed on ${VERSIONS}`);
    const reason = status.hub.lastError ?? "no error reported yet";
    if (/cannot talk to agent|unsupported protocol/i.test(reason)) {
      return fail(NAME, reason, "upgrade the program the message names, then restart the agent: connect down && connect up");
    }
    if (status.hub.state === "connecting") {
      return warn(NAME, `not checked: the running agent is still connecting to the hub (${reason})`, `see ${input.logPath}`);
    }
    return fail(NAME, `The running agent is ${status.hub.state} from the hub: ${reason}`, `see ${input.logPath}`);
  }
  if (!input.isHubUsable) return skip(NAME, "not checked: needs a reachable hub that accepts the token");
  if (await input.isConnectedElsewhere().catch(() => false)) {
    return warn(
      NAME,
      "not checked: the hub sees this agent connected from another process, which a hello from here would replace",
      "if no other machine should use this identity, rotate its token: connect up --rotate-token",
    );
  }
  let result: RelayProbeResult;
  try {
    result = await input.probe();
  } catch (error) {
    return fail(
      NAME,
      `The relay did not answer: ${describeFailure(error)}`,
      "check that a proxy in front of the hub passes WebSocket upgrades on /relay",
    );
  }
  switch (result.kind) {
    case "welcome":
      return pass(
        NAME,
        `the hub${result.hubVersion === undefined ? "" : ` (${result.hubVersion})`} agreed on protocol ${result.version}`,
      );
    case "refused":
      if (result.code === "unsupported_version") {
        return fail(NAME, describeVersionRefusal(result.message, input.agentVersion), "upgrade the program the message names");
      }
      return fail(NAME, `The relay refused the hello: ${result.message || result.code}`, "see the token check and the hub's log");
    case "http":
      return fail(
        NAME,
        `The relay refused the connection (HTTP ${result.status}): ${result.message}`,
        result.status === 401
          ? "see the token check"
          : "check that a proxy in front of the hub passes WebSocket upgrades on /relay",
      );
  }
}
