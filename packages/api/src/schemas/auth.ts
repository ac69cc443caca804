import { z } from "zod";

export const MEMBER_ROLES = ["owner", "member"] as const;
export const memberRole = z.enum(MEMBER_ROLES, "Role must be owner or member");

/** Stored lower-case so that one person is one user whatever they type. */
export const emailAddress = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(
    z
      .email("Email is not a valid address: check it, for example you@example.com")
      .max(254, "Email must be at most 254 characters"),
  );

export const requestMagicLinkInput = z.object({ email: emailAddress });
export type RequestMagicLinkInput = z.input<typeof requestMagicLinkInput>;

/** The same for every address, whether it has an account or not. */
export const requestMagicLinkOutput = z.object({ expiresInMinutes: z.number().int() });
export type RequestMagicLinkOutput = z.infer<typeof requestMagicLinkOutput>;

// Any short string: a malformed token gets the same answer as an expired one.
export const verifyMagicLinkInput = z.object({ token: z.string().max(256) });
export type VerifyMagicLinkInput = z.input<typeof verifyMagicLinkInput>;

export const userWorkspace = z.object({ id: z.uuid(), name: z.string(), slug: z.string(), role: memberRole });
export type UserWorkspaceView = z.infer<typeof userWorkspace>;

export const signedInUserOutput = z.object({
  user: z.object({ id: z.uuid(), email: z.string() }),
  workspaces: z.array(userWorkspace),
});
export type SignedInUser = z.infer<typeof signedInUserOutput>;

export const logoutOutput = z.object({ isSignedOut: z.literal(true) });
