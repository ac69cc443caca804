import { setTimeout as delay } from "node:timers/promises";
import { normalizeHubUrl } from "../config/hub-url.js";
import type { AgentIdentity } from "../config/identity.js";
import { readAgentEnv } from "../env.js";
import { ConnectError, describeError, isConnectError } from "../errors.js";
import { callHub, createHubClient, type HubClient } from "./hub-client.js";

/** A token the hub just issued, with its expiry (ISO 8601). */
export interface IssuedToken {
  token: string;
  tokenExpiresAt: string;
}

export interface RotateTokenOptions {
  hubUrl: string;
  /** The agent's token now. */
  token: string;
  /**
   * Keeps the new token (identity.json, atomically). Called before the hub is told to drop the
   * old one: if it throws, the old token keeps working and the new one is simply never used.
   */
  save(issued: IssuedToken): Promise<void>;
  /** Test seam: the control-plane client for a given token. */
  createClient?(token: string): HubClient;
}

export interface RotatedToken extends IssuedToken {
  /** The saved token was an unconfirmed new one from an earlier, interrupted rotation: it was confirmed instead. */
  isResumed: boolean;
}

/**
 * Rotates an agent token: the hub issues a new one (both work from then on), `save` keeps it,
 * then the new token confirms itself and the old one stops working. Nothing about an open relay
 * connection changes. Only possible before the token expires; after that the hub answers
 * TOKEN_EXPIRED with the way back (a new `connect up --api-key` or `connect login`).
 */
export async function rotateAgentToken(options: RotateTokenOptions): Promise<RotatedToken> {
  const { hubUrl } = options;
  const clientFor = options.createClient ?? ((token: string) => createHubClient(hubUrl, token));
  const current = clientFor(options.token);
  const me = await callHub(hubUrl, () => current.agents.me.query());
  if (me.isRotationPending) {
    // A rotation that saved its token but never heard back from the confirmation.
    const confirmed = await callHub(hubUrl, () => current.agents.confirmRotation.mutate());
    return { token: options.token, tokenExpiresAt: confirmed.tokenExpiresAt, isResumed: true };
  }
  const issued = await callHub(hubUrl, () => current.agents.rotateToken.mutate());
  await options.save(issued);
  try {
    await callHub(hubUrl, () => clientFor(issued.token).agents.confirmRotation.mutate());
  } catch (error) {
    throw new ConnectError(
      isConnectError(error) ? error.code : "HUB_REJECTED",
      `Saved the new agent token, but the hub did not confirm it (${describeError(error)}): run connect up --rotate-token again to finish; the old and the new token both keep working until then`,
      { cause: error },
    );
  }
  return { ...issued, isResumed: false };
}

export interface TokenIdentityOptions {
  hubUrl: string;
  /** An agent token, e.g. one from POST /v1/agents/provision. */
  token: string;
  isInsecureAllowed?: boolean;
  createClient?(token: string): HubClient;
}

/** The identity behind an agent token the hub issued elsewhere (provisioned, or copied): no registration. */
export async function identityFromToken(options: TokenIdentityOptions): Promise<AgentIdentity> {
  const hubUrl = normalizeHubUrl(options.hubUrl, {
    isInsecureAllowed: options.isInsecureAllowed ?? readAgentEnv().isInsecureAllowed,
  });
  const client = options.createClient?.(options.token) ?? createHubClient(hubUrl, options.token);
  const me = await callHub(hubUrl, () => client.agents.me.query());
  return {
    hubUrl,
    agentId: me.agentId,
    token: options.token,
    tokenExpiresAt: me.tokenExpiresAt,
    workspace: { id: me.workspace.id, name: me.workspace.name },
    label: me.label,
    ...(me.isProvisioned ? { isProvisioned: true } : {}),
    registeredAt: me.registeredAt,
    tokenMaxExpiresAt: me.tokenMaxExpiresAt,
  };
}

export interface DeviceLoginCode {
  /** What to type on the approval page (XXXX-XXXX). */
  userCode: string;
  /** The approval page, with the code filled in. */
  verificationUrl: string;
  expiresAt: string;
}

export interface DeviceLoginOptions {
  hubUrl: string;
  /** The name this machine gets in the workspace. */
  label: string;
  isInsecureAllowed?: boolean;
  /** Shows the code and the page to the person who will approve it. */
  onCode(code: DeviceLoginCode): void | Promise<void>;
  /** Test seams: the clock, the wait between polls, and an anonymous hub client. */
  now?(): number;
  sleep?(ms: number): Promise<void>;
  client?: HubClient;
}

/**
 * `connect login`: asks the hub for a login code, shows it, and polls until someone signed in to
 * a workspace approves or denies it, or it expires. On approval the machine is a new agent of
 * that workspace with its own token (never an API key).
 */
export async function loginWithDeviceCode(options: DeviceLoginOptions): Promise<AgentIdentity> {
  const hubUrl = normalizeHubUrl(options.hubUrl, {
    isInsecureAllowed: options.isInsecureAllowed ?? readAgentEnv().isInsecureAllowed,
  });
  const client = options.client ?? createHubClient(hubUrl, undefined);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const started = await callHub(hubUrl, () => client.deviceAuth.start.mutate({ label: options.label, hubUrl }));
  await options.onCode({ userCode: started.userCode, verificationUrl: started.verificationUrl, expiresAt: started.expiresAt });

  const intervalMs = Math.max(1, started.intervalSeconds) * 1000;
  const deadline = Date.parse(started.expiresAt);
  // Bounded twice: by the code's expiry, and by a poll count, whatever the clock does.
  const maxPolls = Math.ceil(Math.max(0, deadline - now()) / intervalMs) + 2;
  for (let poll = 0; poll < maxPolls; poll += 1) {
    await sleep(intervalMs);
    let result: Awaited<ReturnType<HubClient["deviceAuth"]["poll"]["mutate"]>>;
    try {
      result = await callHub(hubUrl, () => client.deviceAuth.poll.mutate({ deviceCode: started.deviceCode }));
    } catch (error) {
      // A blip while waiting is not worth losing the login over; the code's expiry still bounds it.
      if (isConnectError(error, "HUB_UNREACHABLE") && now() < deadline) continue;
      throw error;
    }
    switch (result.status) {
      case "pending":
        continue;
      case "denied":
        throw new ConnectError(
          "LOGIN_FAILED",
          "The login was denied in the workspace: if that was a mistake, run connect login again and approve the new code",
        );
      case "expired":
        throw loginExpired();
      case "approved":
        return {
          hubUrl,
          agentId: result.agentId,
          token: result.token,
          tokenExpiresAt: result.tokenExpiresAt,
          workspace: { id: result.workspace.id, name: result.workspace.name },
          label: result.label,
        };
    }
  }
  throw loginExpired();
}

function loginExpired(): ConnectError {
  return new ConnectError("LOGIN_FAILED", "The login code expired before anyone approved it: run connect login again");
}
