import {
  consumeMagicLinkHash,
  createSessionHash,
  listInvitationsForUser,
  listUserWorkspaces,
  type MagicLinkSignIn,
  sha256Hex,
} from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { AppError, SIGN_IN_LINK_INVALID } from "../../errors.js";
import type { SignedInUser } from "../../schemas/auth.js";
import { recordUserSessionEvent, type SessionRequest } from "../audit/record-user-session-event.js";
import { insertOwnedWorkspace, retryOnSlugClash } from "../workspaces/insert-workspace.js";
import { BROWSER_TOKEN_PATTERN, generateBrowserToken } from "./secrets.js";
import { SESSION_IDLE_TIMEOUT_MS } from "./session-cookie.js";
import { signOut } from "./sign-out.js";
import { toUserWorkspaceView } from "./user-workspace-view.js";

export interface MagicLinkSession {
  /** For the pc_session cookie only; the database keeps its SHA-256. */
  sessionToken: string;
  signedIn: SignedInUser;
}

/**
 * Signs in with a link: uses it up, creates the user on the first sign-in of an address together
 * with a first workspace they own (unless an invitation to a workspace awaits them),
 * and opens a session. All in one transaction, so a failure leaves the link usable. Unknown,
 * used and expired links get one message.
 */
export async function verifyMagicLink(
  deps: ApiDeps,
  input: { token: string },
  options: { previousSessionToken?: string | undefined } & SessionRequest = {},
): Promise<MagicLinkSession> {
  if (!BROWSER_TOKEN_PATTERN.test(input.token)) throw new AppError("UNAUTHORIZED", SIGN_IN_LINK_INVALID);
  const linkHash = sha256Hex(input.token);
  const sessionToken = generateBrowserToken();
  const now = currentTime(deps);
  const signIn: MagicLinkSignIn = await retryOnSlugClash((chooseSlug, workspaceId) =>
    // The fresh id's context is what lets the first workspace be inserted; the identity
    // functions themselves do not depend on it.
    deps.db.withWorkspace(workspaceId, async (tx) => {
      const consumed = await consumeMagicLinkHash(tx, linkHash, now);
      if (consumed === null) throw new AppError("UNAUTHORIZED", SIGN_IN_LINK_INVALID);
      if (
        consumed.isFirstSignIn &&
        (await listUserWorkspaces(tx, consumed.userId)).length === 0 &&
        // Someone invited signs in to accept (or decline) in the dashboard, without a stray
        // workspace of their own; they can still create one there.
        (await listInvitationsForUser(tx, consumed.userId, now)).length === 0
      ) {
        const name = describeFirstWorkspace(consumed.email);
        await insertOwnedWorkspace(tx, { workspaceId, name, slug: chooseSlug(name), ownerUserId: consumed.userId });
      }
      await createSessionHash(tx, {
        userId: consumed.userId,
        tokenHash: sha256Hex(sessionToken),
        now,
        pruneBefore: new Date(now.getTime() - SESSION_IDLE_TIMEOUT_MS),
      });
      return consumed;
    }),
  );
  // The browser's cookie is about to be replaced: the session it held must not outlive it.
  await signOut(deps, options.previousSessionToken);
  const workspaces = await listUserWorkspaces(deps.db.prisma, signIn.userId);
  try {
    await recordUserSessionEvent(
      deps,
      signIn,
      "login",
      options,
      workspaces.map((workspace) => workspace.workspaceId),
    );
  } catch (error) {
    // A sign-in no workspace has on record must not happen: the new session goes unused.
    await signOut(deps, sessionToken).catch(() => undefined);
    throw error;
  }
  return {
    sessionToken,
    signedIn: { user: { id: signIn.userId, email: signIn.email }, workspaces: workspaces.map(toUserWorkspaceView) },
  };
}

/** "alice.smith@example.com" -> "alice.smith". */
function describeFirstWorkspace(email: string): string {
  const localPart = email.slice(0, email.lastIndexOf("@")).trim();
  return (localPart === "" ? "My workspace" : localPart).slice(0, 128);
}
