import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { readWebEnv } from "@/env";
import { safeReturnPath } from "@/lib/return-path";
import { readSignedInUser } from "@/lib/server/hub-api";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const { next } = await searchParams;
  const returnPath = safeReturnPath(typeof next === "string" ? next : undefined);
  if ((await readSignedInUser()) !== undefined) redirect(returnPath ?? "/");
  return (
    <main className="centered narrow">
      <h1>Sign in to Private Connect</h1>
      <p>
        Enter your email address: we send you a link that signs you in. No password. The first sign-in creates your account and a
        workspace.
      </p>
      <SignInForm linksFile={readWebEnv().SIGN_IN_LINKS_FILE} returnPath={returnPath} />
    </main>
  );
}
