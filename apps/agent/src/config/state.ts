import { z } from "zod";
import { readJsonFile, writeJsonFileAtomic } from "./json-file.js";

const portSchema = z.number().int().min(1).max(65535);

export const exposureSchema = z.object({
  name: z.string().min(1),
  host: z.string().min(1),
  port: portSchema,
});

export const reachRecordSchema = z.object({
  service: z.string().min(1),
  from: z.string().min(1).optional(),
  host: z.string().min(1),
  port: portSchema,
});

export const agentStateSchema = z.object({
  exposures: z.array(exposureSchema).default([]),
  reaches: z.array(reachRecordSchema).default([]),
});

/** A local target this agent announced to the hub under a service name. */
export type Exposure = z.infer<typeof exposureSchema>;
/** A local port this agent listens on and relays to a service through the hub. */
export type ReachRecord = z.infer<typeof reachRecordSchema>;
export type AgentState = z.infer<typeof agentStateSchema>;

export function createEmptyState(): AgentState {
  return { exposures: [], reaches: [] };
}

export async function readState(path: string): Promise<AgentState> {
  return (await readJsonFile(path, agentStateSchema)) ?? createEmptyState();
}

export async function writeState(path: string, state: AgentState): Promise<void> {
  await writeJsonFileAtomic(path, agentStateSchema.parse(state), 0o600);
}
