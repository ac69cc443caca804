import type { Metadata } from "next";
import { cookies } from "next/headers";
import Link from "next/link";
import { RETURN_PATH_COOKIE, safeReturnPath } from "@/lib/return-path";
import { VerifyForm } from "./verify-form";

export const metadata: Metadata = { title: "Finish signing in" };

/**
 * The page the emailed link opens. It does not sign in by itself on load: mail scanners open
 * links to inspect them, and the link works once, so the person's own click uses it.
 */
export default async function VerifyPage({ searchParams }: { searchParams: Promise<{ token?: string | string[] }> }) {
  const { token } = await searchParams;
  const returnTo = (await cookies()).get(RETURN_PATH_COOKIE)?.value;
  if (typeof token !== "string" || token === "") {
    return (
      <main className="centered narrow">
        <h1>This sign-in link is incomplete</h1>
        <p>Copy the whole link from the email, or request a new one.</p>
        <p>
          <Link className="button" href="/sign-in">
            Request a new link
          </Link>
        </p>
      </main>
    );
  }
  return (
    <main className="centered narrow">
      <h1>Finish signing in</h1>
      <p>This link signs this browser in to Private Connect. It works once, within 15 minutes of being sent.</p>
      <VerifyForm token={token} returnPath={safeReturnPath(returnTo === undefined ? undefined : decodeURIComponent(returnTo))} />
    </main>
  );
}
