import { decodeE2ePublicKey } from "@private-connect/protocol";
import { z } from "zod";

/** What a service may ask for (`connect expose --e2e`). */
export const SERVICE_E2E_POLICIES = ["required", "preferred", "off"] as const;
export type ServiceE2ePolicy = (typeof SERVICE_E2E_POLICIES)[number];

/** What a workspace may set: no "off", a workspace cannot switch encryption off for its services. */
export const WORKSPACE_E2E_POLICIES = ["required", "preferred"] as const;
export type WorkspaceE2ePolicy = (typeof WORKSPACE_E2E_POLICIES)[number];

export const serviceE2ePolicy = z.enum(SERVICE_E2E_POLICIES, {
  error: "e2e must be required, preferred or off (connect expose --e2e required|preferred|off)",
});
export const workspaceE2ePolicy = z.enum(WORKSPACE_E2E_POLICIES, { error: "policy must be required or preferred" });

const MALFORMED_E2E_PUBLIC_KEY =
  "must be an end-to-end public key: pcpk_ followed by 43 base64url characters, as the agent's e2e-key.json holds it";

/** A key field; `field` names it in the message. Bounded first, so a huge string is refused cheaply. */
export function e2ePublicKey(field: string) {
  return z
    .string({ error: `${field} ${MALFORMED_E2E_PUBLIC_KEY}` })
    .max(64, `${field} ${MALFORMED_E2E_PUBLIC_KEY}`)
    .refine((text) => decodeE2ePublicKey(text) !== undefined, `${field} ${MALFORMED_E2E_PUBLIC_KEY}`);
}

/** The short form of a key the audit log keeps: the first 16 hex digits of SHA-256 of its raw bytes. */
export const e2eKeyFingerprint = z.string().regex(/^[0-9a-f]{16}$/);
