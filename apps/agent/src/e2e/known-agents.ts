import { z } from "zod";
import { withFileLock } from "../config/file-lock.js";
import { readJsonFile, writeJsonFileAtomic } from "../config/json-file.js";

const keyText = z.string().regex(/^pcpk_[A-Za-z0-9_-]{43}$/, "must be a pcpk_ key");

const knownAgentSchema = z.object({
  publicKey: keyText,
  label: z.string(),
  workspaceId: z.string(),
  firstSeenAt: z.string(),
  /** When a person compared safety numbers (`connect verify --confirm`). */
  verifiedAt: z.string().optional(),
  /** The last key offered that was not the pinned one: what `connect trust` would accept. */
  changedKey: z.object({ publicKey: keyText, seenAt: z.string(), service: z.string().optional() }).optional(),
});

export const knownAgentsSchema = z.object({
  version: z.literal(1),
  agents: z.record(z.string(), knownAgentSchema),
});

/** One pinned peer agent, by id, in known-agents.json. */
export type KnownAgent = z.infer<typeof knownAgentSchema>;
export type KnownAgents = z.infer<typeof knownAgentsSchema>;

export function emptyKnownAgents(): KnownAgents {
  return { version: 1, agents: {} };
}

export async function readKnownAgents(path: string): Promise<KnownAgents> {
  return (await readJsonFile(path, knownAgentsSchema)) ?? emptyKnownAgents();
}

export function parseKnownAgents(text: string): KnownAgents {
  return knownAgentsSchema.parse(JSON.parse(text));
}

/**
 * Reads known-agents.json, applies `change` and writes it back, under the file's lock: the agent
 * (pinning on first contact) and `connect trust` / `connect verify` never lose each other's writes.
 */
export async function updateKnownAgents<T>(path: string, change: (known: KnownAgents) => T): Promise<T> {
  return withFileLock(path, async () => {
    const known = await readKnownAgents(path);
    const result = change(known);
    await writeJsonFileAtomic(path, known, 0o600);
    return result;
  });
}

/**
 * The pinned agent `query` names: its id, or a label only one pinned agent has. Undefined with
 * the reason when none or several match.
 */
export function findKnownAgent(known: KnownAgents, query: string): { agentId: string; agent: KnownAgent } | { error: string } {
  const byId = known.agents[query];
  if (byId !== undefined) return { agentId: query, agent: byId };
  const byLabel = Object.entries(known.agents).filter(([, agent]) => agent.label === query);
  const [first] = byLabel;
  if (byLabel.length === 1 && first !== undefined) return { agentId: first[0], agent: first[1] };
  if (byLabel.length > 1) {
    return { error: `Several pinned agents are labelled ${query}: name one by id (${byLabel.map(([id]) => id).join(", ")})` };
  }
  return {
    error: `No end-to-end key is pinned for agent ${query}: an agent is pinned the first time a stream runs end to end between it and this one (connect trust --list shows the pinned ones)`,
  };
}
