import { rm } from "node:fs/promises";
import { z } from "zod";
import { readJsonFile, writeJsonFileAtomic } from "../config/json-file.js";
import { AGENT_REVOKED_ERROR_CODE as AGENT_REVOKED_CODE, isAgentRevokedMessage } from "../tunnel/tunnel-client.js";

const lastStopSchema = z.object({
  at: z.string(),
  reason: z.string(),
  /** The hub's error code when it gave one: "agent_revoked" means that agent's token is dead for good. */
  code: z.string().optional(),
  /** The agent that was stopped: a later registration in the same directory is another agent. */
  agentId: z.string().optional(),
});

/**
 * Why the agent stopped on its own last time (the hub refused it): kept for `connect status`, and
 * for `connect up` and the other commands to refuse a revoked agent's token without sending it.
 */
export type LastStop = z.infer<typeof lastStopSchema>;

export async function writeLastStop(path: string, lastStop: LastStop): Promise<void> {
  await writeJsonFileAtomic(path, lastStopSchema.parse(lastStop), 0o600);
}

/** Undefined when there is none, or when the file cannot be read: it is only a hint. */
export async function readLastStop(path: string): Promise<LastStop | undefined> {
  return readJsonFile(path, lastStopSchema).catch(() => undefined);
}

export async function clearLastStop(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * The recorded revocation of this agent, if the hub revoked it: the one stop after which its saved
 * token must not be sent again (the hub would refuse it; a supervisor looping on connect up must
 * not turn that into a stream of dead-token attempts).
 */
export async function readRevocation(path: string, agentId: string): Promise<LastStop | undefined> {
  const lastStop = await readLastStop(path);
  return lastStop?.code === AGENT_REVOKED_CODE && lastStop.agentId === agentId ? lastStop : undefined;
}

/** What to do once revoked: only a new registration (which an owner must allow) brings the machine back. */
export function describeRevocation(lastStop: LastStop): string {
  return `${lastStop.reason} (revoked at ${lastStop.at}; once they do, register this machine again with connect up --api-key <key> or connect login --hub <url>)`;
}

/**
 * Records a revocation the hub reported while refusing the token (the agent was not connected
 * when it happened), so the token is not sent again. Other refusals are left alone.
 */
export async function recordRevocationIfRevoked(path: string, agentId: string, error: unknown, at: Date): Promise<void> {
  if (!(error instanceof Error) || !isAgentRevokedMessage(error.message)) return;
  await writeLastStop(path, { at: at.toISOString(), reason: error.message, code: AGENT_REVOKED_CODE, agentId }).catch(
    () => undefined,
  );
}
