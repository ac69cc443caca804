import { describeTokenExpiry, formatRemaining, TOKEN_EXPIRY_WARNING_DAYS } from "../cli/token-expiry.js";
import type { AgentIdentity } from "../config/identity.js";
import { describeRevocation, type LastStop } from "../daemon/last-stop.js";
import { isConnectError } from "../errors.js";
import { callHub, type HubClient } from "../sdk/hub-client.js";
import { type DoctorCheck, describeFailure, fail, pass, skip, warn } from "./check.js";

const NAME = "token";
const REGISTER_AGAIN = "register this machine again: connect up --api-key KEY, or connect login --hub URL";

/** The part of agents.me the token check reads. */
type AgentProfile = Awaited<ReturnType<HubClient["agents"]["me"]["query"]>>;

/**
 * Whether the hub still accepts the saved agent token (one cheap authenticated call, agents.me),
 * when it expires, and what to do about it: rotate within TOKEN_EXPIRY_WARNING_DAYS of the end,
 * register again once rotation cannot extend it any more.
 */
export async function checkToken(options: {
  identity: AgentIdentity;
  client: HubClient;
  /** The recorded revocation of this agent: its token is then never sent again. */
  revocation: LastStop | undefined;
  now: Date;
}): Promise<{ check: DoctorCheck; profile?: AgentProfile }> {
  const { identity } = options;
  if (options.revocation !== undefined) {
    return { check: fail(NAME, `This agent was revoked: ${options.revocation.reason}`, describeRevocation(options.revocation)) };
  }
  let profile: AgentProfile;
  try {
    profile = await callHub(identity.hubUrl, () => options.client.agents.me.query());
  } catch (error) {
    if (isConnectError(error, "HUB_UNREACHABLE")) return { check: skip(NAME, "not checked: the hub did not answer") };
    if (isConnectError(error, "TOKEN_EXPIRED") || isConnectError(error, "HUB_UNAUTHORIZED")) {
      return { check: fail(NAME, `The hub refused the agent token: ${describeFailure(error)}`, REGISTER_AGAIN) };
    }
    return {
      check: fail(NAME, `agents.me failed: ${describeFailure(error)}`, "check the hub's log; then run connect doctor again"),
    };
  }
  if (profile.isRotationPending) {
    return {
      check: warn(NAME, "A token rotation was started but not confirmed", "finish it: connect up --rotate-token"),
      profile,
    };
  }
  const expiry = {
    tokenExpiresAt: profile.tokenExpiresAt,
    isProvisioned: profile.isProvisioned,
    tokenMaxExpiresAt: profile.tokenMaxExpiresAt,
  };
  const warning = describeTokenExpiry(expiry, options.now);
  if (warning !== undefined) {
    // The sentence ends with what to do; the fix line repeats just that part.
    const fix = warning.slice(warning.indexOf(": ") + 2);
    const isExpired = Date.parse(profile.tokenExpiresAt) <= options.now.getTime();
    return { check: isExpired ? fail(NAME, warning, fix) : warn(NAME, warning, fix), profile };
  }
  const remaining = formatRemaining(Date.parse(profile.tokenExpiresAt) - options.now.getTime());
  const until = profile.tokenExpiresAt.slice(0, 10);
  const how = profile.isProvisioned
    ? "a provisioned token is replaced, not rotated"
    : `rotate it within ${TOKEN_EXPIRY_WARNING_DAYS} days of the end with connect up --rotate-token`;
  return { check: pass(NAME, `accepted by the hub, expires in ${remaining} (${until}); ${how}`), profile };
}
