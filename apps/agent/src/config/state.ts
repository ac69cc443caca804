import { z } from "zod";
import { readJsonFile, writeJsonFileAtomic } from "./json-file.js";

const portSchema = z.number().int().min(1).max(65535);

/** Whether a service's streams must, may or must not be end-to-end encrypted between the agents. */
export const e2ePolicySchema = z.enum(["required", "preferred", "off"]);
export type E2ePolicy = z.infer<typeof e2ePolicySchema>;

export const exposureSchema = z.object({
  name: z.string().min(1),
  host: z.string().min(1),
  port: portSchema,
  /** Absent in files from before end-to-end encryption: "preferred". */
  e2e: e2ePolicySchema.optional(),
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
