import { z } from "zod";
import { agentLabel } from "./display-name.js";

const workspaceSummary = z.object({ id: z.uuid(), name: z.string() });

export const startDeviceAuthorizationInput = z.object({
  label: agentLabel,
  /**
   * The hub URL the caller used. Only for building verificationUrl when the hub has no public
   * URL configured; it goes back to this caller and nowhere else.
   */
  hubUrl: z
    .url({ protocol: /^https?$/, error: "hubUrl must be an http(s) URL, for example https://hub.example.com" })
    .max(2048)
    .optional(),
});
export type StartDeviceAuthorizationInput = z.input<typeof startDeviceAuthorizationInput>;

export const startDeviceAuthorizationOutput = z.object({
  /** Secret of the polling machine: only its SHA-256 is stored. Never show it to a person. */
  deviceCode: z.string(),
  /** What the person types (or finds prefilled) on the approval page: XXXX-XXXX. */
  userCode: z.string(),
  verificationUrl: z.string(),
  expiresAt: z.iso.datetime(),
  /** Poll no more often than this. */
  intervalSeconds: z.number().int().positive(),
});
export type StartDeviceAuthorizationOutput = z.infer<typeof startDeviceAuthorizationOutput>;

export const pollDeviceAuthorizationInput = z.object({ deviceCode: z.string().min(1).max(128) });
export type PollDeviceAuthorizationInput = z.input<typeof pollDeviceAuthorizationInput>;

export const pollDeviceAuthorizationOutput = z.discriminatedUnion("status", [
  z.object({ status: z.literal("pending") }),
  z.object({ status: z.literal("denied") }),
  z.object({ status: z.literal("expired") }),
  z.object({
    status: z.literal("approved"),
    agentId: z.uuid(),
    /** The new agent's own token, delivered once: a second poll is refused. */
    token: z.string().regex(/^[0-9a-f]{64}$/),
    tokenExpiresAt: z.iso.datetime(),
    label: z.string(),
    workspace: workspaceSummary,
  }),
]);
export type PollDeviceAuthorizationOutput = z.infer<typeof pollDeviceAuthorizationOutput>;

export const decideDeviceAuthorizationInput = z.object({ userCode: z.string().trim().min(1).max(32) });
export type DecideDeviceAuthorizationInput = z.input<typeof decideDeviceAuthorizationInput>;

export const decideDeviceAuthorizationOutput = z.object({
  status: z.enum(["approved", "denied"]),
  /** The label the machine asked for, so the person sees which machine they let in. */
  label: z.string(),
});
export type DecideDeviceAuthorizationOutput = z.infer<typeof decideDeviceAuthorizationOutput>;
