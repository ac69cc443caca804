import { z } from "zod";

// The same bounds for every tool that names a service: an AI client's text reaches the agent,
// the hub and the audit log, so it is trimmed and kept short before anything else sees it.
export const serviceNameInput = z.string().trim().min(1, "Give a service name").max(200).describe("name of the service");
export const fromInput = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .optional()
  .describe("workspace (or share) that shared the service with this one, as connect reach --from takes it");

/** "prod-db" or "prod-db from acme": the service as the audit target and answers name it. */
export function describeService(service: string, from: string | undefined): string {
  return from === undefined ? service : `${service} from ${from}`;
}
