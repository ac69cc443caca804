import { z } from "zod";
import { type Exposure, e2ePolicySchema } from "../config/state.js";
import type { ConnectErrorCode } from "../errors.js";
import type { ExposureInfo, ReachInfo, TunnelState } from "../sdk/agent.js";
import type { FailureRecord } from "./last-failures.js";

// The control socket speaks newline-delimited JSON: one request object per line,
// `{ id, method, params }`, answered by one line `{ id, result }` or `{ id, error: { message } }`.
// Only processes of the same user reach it (the socket lives in the 0700 config directory).

/** A line longer than this is not a control request; the connection is dropped. */
export const MAX_CONTROL_LINE_BYTES = 1024 * 1024;

const serviceNameSchema = z.string().trim().min(1, "Give a service name");

export const controlParamSchemas = {
  status: z.object({}),
  expose: z.object({
    name: serviceNameSchema,
    host: z.string().trim().min(1),
    port: z.number().int().min(1).max(65535),
    e2e: e2ePolicySchema.optional(),
  }),
  unexpose: z.object({ name: serviceNameSchema }),
  reach: z.object({
    service: serviceNameSchema,
    port: z.number().int().min(0).max(65535).optional(),
    host: z.string().trim().min(1).optional(),
    from: z.string().trim().min(1).optional(),
  }),
  stopReach: z.object({ service: serviceNameSchema, from: z.string().trim().min(1).optional() }),
  waitConnected: z.object({
    timeoutMs: z
      .number()
      .int()
      .min(0)
      .max(10 * 60_000),
  }),
  shutdown: z.object({}),
  /** Rotate the agent token in the running agent, so its live hub connection is untouched. */
  rotateToken: z.object({}),
  /** What the hub says of a service this agent may reach: online or not, and its target port when it tells. */
  lookupService: z.object({ service: serviceNameSchema, from: z.string().trim().min(1).optional() }),
  /**
   * How the hub answered the stream opened for one local connection to a reach (named by the
   * reach's port and the client's port), waiting up to timeoutMs for it: `connect check` times
   * the open of the very stream it probes.
   */
  waitStreamOpen: z.object({
    reachPort: z.number().int().min(1).max(65535),
    clientPort: z.number().int().min(1).max(65535),
    timeoutMs: z.number().int().min(0).max(60_000),
  }),
} as const;

export type { FailureRecord };

export type ControlMethod = keyof typeof controlParamSchemas;

export const controlMethods = Object.keys(controlParamSchemas) as ControlMethod[];

export function isControlMethod(value: unknown): value is ControlMethod {
  return typeof value === "string" && Object.hasOwn(controlParamSchemas, value);
}

/** Something the hub told the agent over the relay (an IP change, a token about to expire). */
export interface HubNoticeRecord {
  /** When the agent received it (ISO 8601). */
  at: string;
  level: "info" | "warning";
  code: string;
  message: string;
}

/** A change of the address the agent's token was used from, as the hub recorded it. */
export interface IpChangeRecord {
  previousIp: string;
  newIp: string;
  at: string;
}

/** An exposure as `connect status` shows it: with the last failure to connect to its target. */
export type ExposureStatus = ExposureInfo & { lastFailure?: FailureRecord };

/** A reach as `connect status` shows it: with the last stream the hub refused or cut, and why. */
export type ReachStatus = ReachInfo & { lastFailure?: FailureRecord };

/** What `connect status` shows: the running agent as its daemon sees it. */
export interface AgentProcessStatus {
  pid: number;
  configDir: string;
  agent: { id: string; label: string; workspace: { id: string; name: string } };
  hub: {
    url: string;
    state: TunnelState;
    lastError?: string;
    /** From the hub's last welcome: whether it carries end-to-end handshakes (absent before one). */
    relaysEndToEnd?: boolean;
  };
  token: {
    expiresAt: string;
    isProvisioned: boolean;
    /** When the hub registered this agent (from agents.me; absent until the hub answered). */
    registeredAt?: string;
    /** The latest expiry any rotation can reach (registration + TOKEN_MAX_LIFETIME_DAYS). */
    maxExpiresAt?: string;
    /** Set from seven days before expiry: what to do about it. */
    warning?: string;
  };
  exposures: ExposureStatus[];
  reaches: ReachStatus[];
  activeStreams: number;
  /** This agent's end-to-end public key (pcpk_...): what other agents pin; absent without one. */
  e2ePublicKey?: string;
  /** This agent's workspace certificate, once installed: which workspace key it enforces. */
  workspaceCertificate?: { workspaceKey: string; issuedAt: string };
  /** The last notices from the hub, oldest first. */
  notices: HubNoticeRecord[];
  /** Recent IP changes of this agent's token, newest first (from the hub). */
  ipChanges: IpChangeRecord[];
}

/** A service as lookupService finds it; absent fields are ones the hub does not tell this agent. */
export interface ServiceLookup {
  name: string;
  from?: string;
  /** Whether the agent exposing it is connected to the hub now. */
  isOnline: boolean;
  agentLabel?: string;
  /** The port it is exposed from on its agent's machine (only for this workspace's own services). */
  targetPort?: number;
}

/** The answer of waitStreamOpen; isAnswered false: no answer within the wait (or none will come). */
export interface StreamOpenAnswer {
  isAnswered: boolean;
  isOpened: boolean;
  openMs: number | null;
  refusal?: { code: number; reason: string };
}

export interface ControlMethods {
  status: { params: z.input<typeof controlParamSchemas.status>; result: AgentProcessStatus };
  expose: { params: z.input<typeof controlParamSchemas.expose>; result: Exposure };
  unexpose: { params: z.input<typeof controlParamSchemas.unexpose>; result: { removed: boolean } };
  reach: { params: z.input<typeof controlParamSchemas.reach>; result: ReachInfo };
  stopReach: { params: z.input<typeof controlParamSchemas.stopReach>; result: { stopped: boolean } };
  waitConnected: { params: z.input<typeof controlParamSchemas.waitConnected>; result: AgentProcessStatus };
  shutdown: { params: z.input<typeof controlParamSchemas.shutdown>; result: { ok: true } };
  rotateToken: {
    params: z.input<typeof controlParamSchemas.rotateToken>;
    /** isResumed: an interrupted earlier rotation was confirmed instead of starting a new one. */
    result: { tokenExpiresAt: string; isResumed: boolean };
  };
  lookupService: {
    params: z.input<typeof controlParamSchemas.lookupService>;
    /** service null: the hub knows no such service for this agent. */
    result: { service: ServiceLookup | null };
  };
  waitStreamOpen: { params: z.input<typeof controlParamSchemas.waitStreamOpen>; result: StreamOpenAnswer };
}

export type ControlParams<M extends ControlMethod> = z.output<(typeof controlParamSchemas)[M]>;

/** The daemon's side: one async function per method, given validated params. */
export type ControlHandler = {
  [M in ControlMethod]: (params: ControlParams<M>) => Promise<ControlMethods[M]["result"]>;
};

export const controlRequestSchema = z.object({
  id: z.union([z.string(), z.number()]),
  method: z.string(),
  params: z.unknown().optional(),
});

export type ControlRequest = z.infer<typeof controlRequestSchema>;

export interface ControlErrorBody {
  message: string;
  code?: ConnectErrorCode;
}

export type ControlResponse =
  | { id: string | number | null; result: unknown }
  | { id: string | number | null; error: ControlErrorBody };
