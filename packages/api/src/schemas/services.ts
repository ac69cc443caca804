import { z } from "zod";
import { serviceE2ePolicy } from "./e2e.js";

export const SERVICE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const serviceName = z
  .string()
  .regex(
    SERVICE_NAME_PATTERN,
    "Service name must be 1-63 characters of lowercase letters, digits and dashes, starting with a letter or digit (for example prod-db): pass a different --name",
  );

/**
 * Lookups accept any short string: a name that cannot exist is simply "not found", so lookups by
 * outsiders and typos all get the same answer.
 */
export const serviceLookupName = z.string().min(1).max(253);

export const exposeServiceInput = z.object({
  name: serviceName,
  targetHost: z
    .string()
    .min(1, "Target host must not be empty: expose HOST:PORT, for example 127.0.0.1:5432")
    .max(253, "Target host must be at most 253 characters")
    .regex(/^[A-Za-z0-9._:%[\]-]+$/, "Target host must be a host name or IP address, for example 127.0.0.1 or db.internal"),
  targetPort: z
    .number()
    .int("Target port must be a whole number")
    .min(1, "Target port must be between 1 and 65535")
    .max(65535, "Target port must be between 1 and 65535"),
  /**
   * `connect expose --e2e`. The agent sends it with every (re-)expose, so what is stored is what
   * was sent last; left out (an agent from before end-to-end encryption) it is "preferred".
   */
  e2e: serviceE2ePolicy.default("preferred"),
});
export type ExposeServiceInput = z.input<typeof exposeServiceInput>;
export type ParsedExposeServiceInput = z.infer<typeof exposeServiceInput>;

export const exposedServiceOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  targetHost: z.string(),
  targetPort: z.number().int(),
  agentId: z.uuid(),
  /** The policy its streams are held to: "required" whenever the workspace's is, else what was asked. */
  e2ePolicy: serviceE2ePolicy,
});
export type ExposedService = z.infer<typeof exposedServiceOutput>;

export const unexposeServiceInput = z.object({ name: serviceLookupName });
export type UnexposeServiceInput = z.infer<typeof unexposeServiceInput>;
export const unexposeServiceOutput = z.object({ removed: z.boolean() });

export const serviceView = z.object({
  id: z.uuid(),
  name: z.string(),
  agentId: z.uuid(),
  agentLabel: z.string(),
  targetHost: z.string(),
  targetPort: z.number().int(),
  online: z.boolean(),
  /** Effective: "required" whenever the workspace's policy is, else what the exposing agent asked for. */
  e2ePolicy: serviceE2ePolicy,
});
export type ServiceView = z.infer<typeof serviceView>;

/** A service of another workspace that a share this agent joined lets it reach (services.shared). */
export const sharedServiceView = z.object({
  name: z.string(),
  /** The sharing workspace's slug: what `connect reach NAME --from SLUG` takes. */
  from: z.string(),
  shareName: z.string(),
  expiresAt: z.iso.datetime(),
  online: z.boolean(),
});
export type SharedServiceView = z.infer<typeof sharedServiceView>;

export const getServiceInput = z.object({ name: serviceLookupName });
export type GetServiceInput = z.infer<typeof getServiceInput>;

/** Who holds an open connection to a service: an agent of the workspace, one through a share, or a public link. */
export const serviceConnectionView = z.object({
  via: z.enum(["agent", "share", "link"]),
  /** The reaching agent's label (for a share: the label it joined with); null for a public link. */
  agentLabel: z.string().nullable(),
  shareName: z.string().nullable(),
  bytes: z.number().int(),
  /** The stream runs a Noise handshake between the two agents: the hub relays only ciphertext. */
  isEndToEnd: z.boolean(),
});
export type ServiceConnectionView = z.infer<typeof serviceConnectionView>;

/** Live traffic of one service, from the relay of the hub answering (counters start with the hub). */
export const serviceTrafficView = z.object({
  name: z.string(),
  openConnections: z.number().int(),
  bytesRelayed: z.number().int(),
  /** At most SERVICE_CONNECTIONS_LISTED of them, largest first. */
  connections: z.array(serviceConnectionView),
});
export type ServiceTrafficView = z.infer<typeof serviceTrafficView>;
