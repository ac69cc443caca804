"use client";

import Link from "next/link";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { Notice, useAction } from "@/components/notice";
import { createApiClient } from "@/lib/api-client";
import { RETURN_PATH_COOKIE } from "@/lib/return-path";

export function VerifyForm({ token, returnPath }: { token: string; returnPath: string | undefined }) {
  const api = useMemo(() => createApiClient(), []);
  const { notice, isPending, run } = useAction();
  const [isDone, setIsDone] = useState(false);

  // The token leaves the address bar (and so the history) as soon as the page has it.
  useEffect(() => {
    window.history.replaceState(null, "", "/auth/verify?token=used");
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const signedIn = await run(
      () => api.auth.verifyMagicLink.mutate({ token }),
      (result) => `Signed in as ${result.user.email}. Opening your workspace…`,
    );
    if (signedIn === undefined) return;
    setIsDone(true);
    // biome-ignore lint/suspicious/noDocumentCookie: a plain path, no secret; the Cookie Store API is not in every browser.
    document.cookie = `${RETURN_PATH_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax`;
    // A full navigation: the server renders the next page with the new session cookie. The front
    // door decides where a plain sign-in lands: invitations waiting, a workspace, or a new one.
    window.location.assign(returnPath ?? "/");
  }

  return (
    <form className="form" onSubmit={submit}>
      <button className="button" type="submit" disabled={isPending || isDone}>
        {isPending ? "Signing in…" : "Sign in"}
      </button>
      <Notice notice={notice} />
      {notice?.kind === "error" && (
        <p>
          <Link href="/sign-in">Request a new sign-in link</Link>
        </p>
      )}
    </form>
  );
}
