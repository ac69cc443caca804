import { scrubUncaughtErrors, scrubWrites } from "@private-connect/log-hygiene";
import { BaseCommand } from "../../cli/base-command.js";
import { normalizeHubUrl } from "../../config/hub-url.js";
import { readIdentity, writeIdentity } from "../../config/identity.js";
import type { ConfigPaths } from "../../config/paths.js";
import { findRunningAgent } from "../../daemon/agent-process.js";
import { createControlClient } from "../../daemon/control-client.js";
import { describeRevocation, readRevocation } from "../../daemon/last-stop.js";
import { ConnectError } from "../../errors.js";
import { rotateAgentToken } from "../../sdk/credentials.js";

/** What one rotation did; `message` is the line both `token rotate` and `up --rotate-token` print. */
export interface TokenRotation {
  tokenExpiresAt: string;
  /** A rotation an earlier run started (the hub issued a token, the confirmation was lost) was finished. */
  isResumed: boolean;
  /** The running agent rotated its own token (its hub connection stayed up), else the saved identity was. */
  isRunningAgent: boolean;
  message: string;
}

export default class TokenRotate extends BaseCommand<typeof TokenRotate> {
  static override summary = "replace this agent's token before it expires, without dropping its streams";
  static override description =
    "Through the running agent when there is one for this config directory: it rotates its own token, its hub connection and open streams stay up and its reconnects use the new token. Without one, the saved identity is rotated directly. Either way the new token is saved before the old one stops working, so an interrupted rotation is finished by running this again. The same as connect up --rotate-token.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> token rotate",
    "<%= config.bin %> token rotate --config ~/.private-connect-server --json",
  ];

  async run(): Promise<Omit<TokenRotation, "message">> {
    // Like connect up: what a credential command prints is scrubbed (its errors may echo a hub URL).
    scrubWrites(process.stdout);
    scrubWrites(process.stderr);
    scrubUncaughtErrors();
    const { message, ...rotation } = await rotateToken(this.paths, { isInsecureAllowed: this.env.isInsecureAllowed });
    this.report(message);
    return rotation;
  }
}

/**
 * Rotates the agent token of the config directory `paths` names: a running agent for it rotates
 * its own (its relay connection and streams are untouched; its reconnects use the new token);
 * without one, the saved identity is rotated here. Either way the new token is saved before the
 * old one ends. `connect token rotate` and `connect up --rotate-token` both run this.
 */
export async function rotateToken(paths: ConfigPaths, options: { isInsecureAllowed: boolean }): Promise<TokenRotation> {
  const running = await findRunningAgent(paths);
  if (running !== undefined) {
    const rotated = await createControlClient(paths.socket).request("rotateToken", {}, { timeoutMs: 60_000 });
    return {
      tokenExpiresAt: rotated.tokenExpiresAt,
      isResumed: rotated.isResumed,
      isRunningAgent: true,
      message: `${rotated.isResumed ? "Finished the interrupted rotation of" : "Rotated"} the token of the running agent for ${paths.dir}${running.pid === undefined ? "" : ` (pid ${running.pid})`}: the new token expires ${rotated.tokenExpiresAt}; its hub connection stayed up`,
    };
  }
  const saved = await readIdentity(paths.identity);
  if (saved === undefined) {
    throw new ConnectError(
      "NOT_REGISTERED",
      `No agent is registered in ${paths.dir}, so there is no token to rotate: register one with connect up --api-key <key> or connect login --hub <url>`,
    );
  }
  normalizeHubUrl(saved.hubUrl, { isInsecureAllowed: options.isInsecureAllowed });
  // A revoked agent's token is dead for good: say why rather than send it again.
  const revocation = await readRevocation(paths.lastStop, saved.agentId);
  if (revocation !== undefined) throw new ConnectError("NOT_REGISTERED", describeRevocation(revocation));
  let identity = saved;
  const rotated = await rotateAgentToken({
    hubUrl: saved.hubUrl,
    token: saved.token,
    save: async (issued) => {
      identity = { ...saved, token: issued.token, tokenExpiresAt: issued.tokenExpiresAt };
      await writeIdentity(paths.identity, identity);
    },
  });
  if (rotated.isResumed) await writeIdentity(paths.identity, { ...identity, tokenExpiresAt: rotated.tokenExpiresAt });
  return {
    tokenExpiresAt: rotated.tokenExpiresAt,
    isResumed: rotated.isResumed,
    isRunningAgent: false,
    message: `${rotated.isResumed ? "Finished the interrupted rotation of" : "Rotated"} the agent token for ${paths.dir}: the new token expires ${rotated.tokenExpiresAt}`,
  };
}
