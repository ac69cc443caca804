import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { readKnownAgents, updateKnownAgents } from "../e2e/known-agents.js";
import { reportPeerKeyEvent } from "../e2e/report-peer-key.js";
import { fingerprintPublicKey, formatSafetyNumberRows } from "../e2e/safety-number.js";
import { ConnectError } from "../errors.js";
import { findPinnedAgent, reportOrWarn, safetyNumberWith } from "./trust.js";

/** What `connect verify AGENT --json` returns. */
export interface VerifyResult {
  agentId: string;
  label: string;
  /** This agent's own id: what to pass to connect verify on the other machine. */
  ownAgentId: string;
  safetyNumber: string;
  fingerprint: string;
  verifiedAt: string | null;
  /** A key the agent offered that is not the pinned one (connect trust accepts it). */
  changedKey: { fingerprint: string; seenAt: string } | null;
  /** --confirm only: the hub's audit log heard of it. */
  isReported?: boolean;
}

export default class Verify extends BaseCommand<typeof Verify> {
  static override summary = "show the safety number of this agent and a pinned agent, and mark the pin verified";
  static override description =
    "Pinning a key on the first stream trusts whatever key the hub handed over then. To know no one stood in between, compare the safety number this prints with the one connect verify prints on the other machine (naming this agent), in person or on a call, never through the hub: the same 60 digits mean each agent holds the other's real key. Once they match, --confirm marks the pin verified (connect trust --list shows it) and tells the hub's audit log. A pin whose agent offered a new key cannot be verified until connect trust accepts that key.";
  static override enableJsonFlag = true;
  static override args = {
    agent: Args.string({ description: "label or id of the pinned agent to compare keys with", required: true }),
  };
  static override flags = {
    confirm: Flags.boolean({ summary: "Mark the pin verified: the two safety numbers matched.", default: false }),
  };
  static override examples = [
    "<%= config.bin %> verify server",
    "<%= config.bin %> verify server --confirm",
    "<%= config.bin %> verify 3f2a8c1e-0b7d-4c55-9a61-2f0e9d4b7a10 --json --config ~/.private-connect-laptop",
  ];

  async run(): Promise<VerifyResult> {
    const identity = await this.requireIdentity();
    const known = await readKnownAgents(this.paths.knownAgents);
    const { agentId, agent } = findPinnedAgent(known, this.args.agent);
    const number = await safetyNumberWith(this.paths, identity, agentId, agent.publicKey);
    if (number === undefined) {
      throw new ConnectError(
        "CONFIG_UNREADABLE",
        `This agent has no end-to-end key in ${this.paths.e2eKey}: start it once with connect up, which makes one`,
      );
    }
    const pending = agent.changedKey;
    if (this.flags.confirm && pending !== undefined) {
      throw new ConnectError(
        "INVALID_INPUT",
        `Agent ${agent.label} (${agentId}) offered a new key (${fingerprintPublicKey(pending.publicKey)}) that is not pinned yet: run connect trust ${agentId} first, then compare safety numbers again`,
      );
    }

    const result: VerifyResult = {
      agentId,
      label: agent.label,
      ownAgentId: identity.agentId,
      safetyNumber: number,
      fingerprint: fingerprintPublicKey(agent.publicKey),
      verifiedAt: agent.verifiedAt ?? null,
      changedKey: pending === undefined ? null : { fingerprint: fingerprintPublicKey(pending.publicKey), seenAt: pending.seenAt },
    };
    this.report([
      `Safety number of this agent (${identity.label}, ${identity.agentId}) and ${agent.label} (${agentId}):`,
      "",
      ...formatSafetyNumberRows(number).map((row) => `    ${row}`),
      "",
      `On ${agent.label}, run connect verify ${identity.agentId} and compare the two numbers in person or on a call: if they are the same, each agent holds the other's real key.`,
    ]);

    if (this.flags.confirm) {
      const verifiedAt = new Date().toISOString();
      const isMarked = await updateKnownAgents(this.paths.knownAgents, (current) => {
        const stored = current.agents[agentId];
        // Mark only the key whose number was shown: the pin may have changed since it was read.
        if (stored === undefined || stored.publicKey !== agent.publicKey || stored.changedKey !== undefined) return false;
        stored.verifiedAt = verifiedAt;
        return true;
      });
      if (!isMarked) {
        throw new ConnectError(
          "INVALID_INPUT",
          `The pin of agent ${agent.label} (${agentId}) changed while this ran: nothing was marked; run connect verify ${agentId} again`,
        );
      }
      result.verifiedAt = verifiedAt;
      this.report([`Marked the key of ${agent.label} (${agentId}) verified at ${verifiedAt}`]);
      result.isReported = await reportOrWarn(() =>
        this.callHubAsAgent((client, self) =>
          reportPeerKeyEvent(client, self.hubUrl, { event: "verified", peerAgentId: agentId, pinnedKey: agent.publicKey }),
        ),
      );
      return result;
    }

    if (pending !== undefined) {
      this.report([
        `Warning: ${agent.label} offered another key (${fingerprintPublicKey(pending.publicKey)}) at ${pending.seenAt}, and its streams are refused: the number above is for the pinned key; accept the new one with connect trust ${agentId}`,
      ]);
    } else if (agent.verifiedAt !== undefined) {
      this.report([`Verified at ${agent.verifiedAt}: this key's safety number was compared`]);
    } else {
      this.report([`Not verified yet: once the numbers match, run connect verify ${agentId} --confirm`]);
    }
    return result;
  }
}
