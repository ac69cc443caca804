import type { ApiDeps } from "../../deps.js";
import type { RequestMagicLinkOutput } from "../../schemas/auth.js";
import { MAGIC_LINK_TTL_MS, sendSignInLink, takeSignInLinkAttempt } from "./sign-in-link.js";

/**
 * Emails a sign-in link to the address. Does the same thing, and answers the same, whether or
 * not the address has an account (the first sign-in creates it): nothing here tells a prober
 * which addresses are known.
 */
export async function requestMagicLink(
  deps: ApiDeps,
  input: { email: string },
  request: { ip: string | undefined },
): Promise<RequestMagicLinkOutput> {
  await takeSignInLinkAttempt(deps, input.email, request.ip);
  await sendSignInLink(deps, input.email);
  return { expiresInMinutes: MAGIC_LINK_TTL_MS / 60_000 };
}
