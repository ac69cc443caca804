import { rm } from "node:fs/promises";
import { z } from "zod";
import { readJsonFile, writeJsonFileAtomic } from "../config/json-file.js";

const lastStopSchema = z.object({ at: z.string(), reason: z.string() });

/** Why the agent stopped on its own last time (the hub refused it): kept for `connect status`. */
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
