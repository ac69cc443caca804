import { createInterface } from "node:readline/promises";
import { Args, Flags, ux } from "@oclif/core";
import { escapeUnprintable } from "@private-connect/protocol";
import { BaseCommand } from "../cli/base-command.js";
import { formatTable } from "../cli/format-table.js";
import type { AgentIdentity } from "../config/identity.js";
import type { ConfigPaths } from "../config/paths.js";
import { type KnownAgent, type KnownAgents, readKnownAgents, updateKnownAgents } from "../e2e/known-agents.js";
import { type ReportPeerKeyInput, reportPeerKeyEvent } from "../e2e/report-peer-key.js";
import { fingerprintPublicKey, formatSafetyNumberRows, safetyNumber } from "../e2e/safety-number.js";
import { parsePublicKeyText, readStaticKey } from "../e2e/static-key.js";
import { ConnectError, describeError } from "../errors.js";

/** One pinned agent as `connect trust --list --json` gives it. */
export interface PinnedAgentEntry {
  agentId: string;
  label: string;
  workspaceId: string;
  publicKey: string;
  fingerprint: string;
  firstSeenAt: string;
  verifiedAt: string | null;
  changedKey: { publicKey: string; fingerprint: string; seenAt: string; service: string | null } | null;
}

/** What `connect trust AGENT --json` returns. */
export interface TrustResult {
  agentId: string;
  label: string;
  /** The new key replaced the pin (false: there was nothing to accept). */
  isTrusted: boolean;
  publicKey: string;
  previousKey: string | null;
  /** The hub's audit log heard of it (false also when nothing changed). */
  isReported: boolean;
}

export default class Trust extends BaseCommand<typeof Trust> {
  static override summary = "list the end-to-end keys this agent pinned, and accept an agent's new key";
  static override description =
    "Every agent pins the end-to-end key of each agent it talks to on their first end-to-end stream (known-agents.json in the config directory). When an agent later offers another key, streams to and from it are refused and the new key is kept aside. Without an agent (or with --list) this lists the pinned agents: their key fingerprints, whether a person verified them (connect verify) and any new key waiting. With an agent (its label or id), it shows the old and the new key and the safety number with the new one, asks before replacing the pin (--yes accepts without asking, as a script must), clears the verification (the new key has not been compared yet) and tells the hub's audit log. The running agent picks the change up on its next stream.";
  static override enableJsonFlag = true;
  static override args = {
    agent: Args.string({ description: "label or id of the pinned agent whose new key to accept", required: false }),
  };
  static override flags = {
    yes: Flags.boolean({ summary: "Accept the new key without asking (needed when stdin is not a terminal).", default: false }),
    list: Flags.boolean({ summary: "List the pinned agents (the default without an agent).", default: false }),
  };
  static override examples = [
    "<%= config.bin %> trust --list",
    "<%= config.bin %> trust server",
    "<%= config.bin %> trust 3f2a8c1e-0b7d-4c55-9a61-2f0e9d4b7a10 --yes --json",
    "<%= config.bin %> trust --list --config ~/.private-connect-laptop",
  ];

  async run(): Promise<PinnedAgentEntry[] | TrustResult> {
    const known = await readKnownAgents(this.paths.knownAgents);
    const query = this.args.agent;
    if (query === undefined || this.flags.list) {
      if (query !== undefined) {
        throw new ConnectError(
          "INVALID_INPUT",
          `connect trust --list takes no agent: run connect trust ${query} to accept its new key`,
        );
      }
      const entries = listPinnedAgents(known);
      if (!this.jsonEnabled()) this.log(formatPinnedAgents(entries));
      return entries;
    }
    const { agentId, agent } = findPinnedAgent(known, query);
    const pending = agent.changedKey;
    if (pending === undefined) {
      this.report([
        `Nothing to accept for agent ${agent.label} (${agentId}): it offered no key other than the pinned one (${fingerprintPublicKey(agent.publicKey)})`,
      ]);
      return { agentId, label: agent.label, isTrusted: false, publicKey: agent.publicKey, previousKey: null, isReported: false };
    }

    const lines = [
      `Agent ${agent.label} (${agentId}) offered a new end-to-end key${pending.service === undefined ? "" : ` for ${pending.service}`} at ${pending.seenAt}:`,
      `  pinned key: ${fingerprintPublicKey(agent.publicKey)}`,
      `  new key:    ${fingerprintPublicKey(pending.publicKey)}`,
    ];
    const identity = await this.readIdentity();
    const number = await safetyNumberWith(this.paths, identity, agentId, pending.publicKey);
    if (number === undefined) {
      lines.push("No safety number: this agent has no end-to-end key of its own yet (connect up makes one)");
    } else {
      lines.push(
        "Safety number with the new key:",
        "",
        ...formatSafetyNumberRows(number).map((row) => `    ${row}`),
        "",
        `It must match what connect verify ${identity?.agentId ?? "<this agent>"} prints on ${agent.label} once that agent runs with its new key: compare them in person or on a call, not through the hub.`,
      );
    }
    this.report(lines);

    if (!this.flags.yes) await this.confirmOrRefuse(agent.label, agentId);

    const outcome = await updateKnownAgents(this.paths.knownAgents, (current) => {
      const stored = current.agents[agentId];
      // Accept only the key the person was shown: the agent may have seen yet another one since.
      if (stored?.changedKey?.publicKey !== pending.publicKey) return "moved" as const;
      stored.publicKey = pending.publicKey;
      delete stored.verifiedAt;
      delete stored.changedKey;
      return "trusted" as const;
    });
    if (outcome === "moved") {
      throw new ConnectError(
        "INVALID_INPUT",
        `The keys of agent ${agent.label} (${agentId}) changed while this ran: nothing was replaced; run connect trust ${agentId} again to see them`,
      );
    }
    this.report([
      `Pinned the new key of agent ${agent.label} (${agentId}): streams with it run again; compare safety numbers with connect verify ${agentId}`,
    ]);
    // Same pair as the "changed" event this answers, so the two read side by side in the audit log.
    const isReported = await this.reportToHub({
      event: "trusted",
      peerAgentId: agentId,
      ...(pending.service === undefined ? {} : { service: pending.service }),
      pinnedKey: agent.publicKey,
      offeredKey: pending.publicKey,
    });
    return {
      agentId,
      label: agent.label,
      isTrusted: true,
      publicKey: pending.publicKey,
      previousKey: agent.publicKey,
      isReported,
    };
  }

  private async confirmOrRefuse(label: string, agentId: string): Promise<void> {
    if (process.stdin.isTTY !== true) {
      throw new ConnectError(
        "INVALID_INPUT",
        `Not replacing the pinned key of agent ${label} (${agentId}) without a confirmation, and stdin is not a terminal to ask on: pass --yes to accept the new key (connect trust ${agentId} --yes)`,
      );
    }
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await prompt.question(`Accept the new key of ${escapeUnprintable(label)} and pin it? [y/N] `);
      if (!/^y(es)?$/i.test(answer.trim())) {
        throw new ConnectError(
          "INVALID_INPUT",
          `Not accepted: agent ${label} (${agentId}) keeps its pinned key, and its streams stay refused`,
        );
      }
    } finally {
      prompt.close();
    }
  }

  /** Tells the hub's audit log as this agent (the saved identity), or warns that it could not. */
  private reportToHub(input: ReportPeerKeyInput): Promise<boolean> {
    return reportOrWarn(() => this.callHubAsAgent((client, identity) => reportPeerKeyEvent(client, identity.hubUrl, input)));
  }
}

/**
 * Runs `send`, a report of a pin change to the hub. The pin is already changed on disk and stays
 * so whatever the hub does: a warning (on stderr, under --json too) says the hub was not told.
 */
export async function reportOrWarn(send: () => Promise<void>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    ux.stderr(escapeUnprintable(`Warning: the hub's audit log was not told (${describeError(error)}); the change here stands`));
    return false;
  }
}

/** The safety number of this agent (identity + static key) and `peerId` holding `peerKey`; undefined without a key here. */
export async function safetyNumberWith(
  paths: ConfigPaths,
  identity: AgentIdentity | undefined,
  peerId: string,
  peerKey: string,
): Promise<string | undefined> {
  const own = await readStaticKey(paths.e2eKey);
  if (own === undefined || identity === undefined) return undefined;
  return safetyNumber(
    { agentId: identity.agentId, publicKey: own.publicKey },
    { agentId: peerId, publicKey: parsePublicKeyText(peerKey) },
  );
}

/**
 * The pinned agent `query` names (an id, or a label only one pinned agent has), or an error that
 * says what is pinned: the ids behind an ambiguous label, or every pinned agent.
 */
export function findPinnedAgent(known: KnownAgents, query: string): { agentId: string; agent: KnownAgent } {
  const byId = known.agents[query];
  if (byId !== undefined) return { agentId: query, agent: byId };
  const byLabel = Object.entries(known.agents).filter(([, agent]) => agent.label === query);
  const [only] = byLabel;
  if (byLabel.length === 1 && only !== undefined) return { agentId: only[0], agent: only[1] };
  if (byLabel.length > 1) {
    throw new ConnectError(
      "INVALID_INPUT",
      `${byLabel.length} pinned agents are labelled ${query}: name one by its id (${byLabel.map(([id]) => id).join(", ")})`,
    );
  }
  const pinned = Object.entries(known.agents).map(([id, agent]) => `${agent.label} (${id})`);
  throw new ConnectError(
    "AGENT_NOT_FOUND",
    `No end-to-end key is pinned for agent ${query}: an agent is pinned the first time a stream runs end to end between it and this one. ${
      pinned.length === 0 ? "No agent is pinned yet" : `Pinned: ${pinned.join(", ")}`
    }`,
  );
}

export function listPinnedAgents(known: KnownAgents): PinnedAgentEntry[] {
  return Object.entries(known.agents)
    .map(([agentId, agent]) => ({
      agentId,
      label: agent.label,
      workspaceId: agent.workspaceId,
      publicKey: agent.publicKey,
      fingerprint: fingerprintPublicKey(agent.publicKey),
      firstSeenAt: agent.firstSeenAt,
      verifiedAt: agent.verifiedAt ?? null,
      changedKey:
        agent.changedKey === undefined
          ? null
          : {
              publicKey: agent.changedKey.publicKey,
              fingerprint: fingerprintPublicKey(agent.changedKey.publicKey),
              seenAt: agent.changedKey.seenAt,
              service: agent.changedKey.service ?? null,
            },
    }))
    .sort((a, b) => a.label.localeCompare(b.label) || a.agentId.localeCompare(b.agentId));
}

/** The table of `connect trust --list`. */
export function formatPinnedAgents(entries: readonly PinnedAgentEntry[]): string {
  if (entries.length === 0) {
    return "No agent is pinned yet: an agent is pinned the first time a stream runs end to end between it and this one";
  }
  const table = formatTable(
    ["Label", "Id", "Key", "Verified", "New key waiting"],
    entries.map((entry) => [
      entry.label,
      entry.agentId,
      entry.fingerprint,
      entry.verifiedAt === null ? "no" : `yes (${entry.verifiedAt})`,
      entry.changedKey === null ? "-" : `${entry.changedKey.fingerprint} (seen ${entry.changedKey.seenAt})`,
    ]),
  );
  const waiting = entries.filter((entry) => entry.changedKey !== null);
  if (waiting.length === 0) return table;
  return `${table}\n\nStreams with an agent whose new key is waiting are refused: accept the key with connect trust AGENT once you know why it changed`;
}
