"use client";

import { type FormEvent, useMemo, useState } from "react";
import { Notice, useAction } from "@/components/notice";
import { createApiClient } from "@/lib/api-client";
import { RETURN_PATH_COOKIE } from "@/lib/return-path";

export function SignInForm({ linksFile, returnPath }: { linksFile: string | undefined; returnPath: string | undefined }) {
  const api = useMemo(() => createApiClient(), []);
  const [email, setEmail] = useState("");
  const [sentTo, setSentTo] = useState<string>();
  const { notice, isPending, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const address = email.trim();
    const result = await run(
      () => api.auth.requestMagicLink.mutate({ email: address }),
      (sent) => `Sign-in link sent to ${address}. It works once, within ${sent.expiresInMinutes} minutes.`,
    );
    if (result === undefined) return;
    setSentTo(address);
    if (returnPath !== undefined) {
      // Not a secret: where to go back to once the link is opened (the device page, say).
      // biome-ignore lint/suspicious/noDocumentCookie: a plain path, no secret; the Cookie Store API is not in every browser.
      document.cookie = `${RETURN_PATH_COOKIE}=${encodeURIComponent(returnPath)}; Path=/; Max-Age=900; SameSite=Lax`;
    }
  }

  return (
    <form className="form" onSubmit={submit}>
      <label htmlFor="email">Email address</label>
      <input
        id="email"
        name="email"
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        placeholder="you@example.com"
      />
      <button className="button" type="submit" disabled={isPending}>
        {isPending ? "Sending…" : "Email me a sign-in link"}
      </button>
      <Notice notice={notice} />
      {sentTo !== undefined && linksFile !== undefined && (
        <p className="hint" data-testid="links-file-hint">
          This hub sends no email (no SMTP_URL is set, the embedded default): the link is the last line of{" "}
          <code>{linksFile}</code> on the hub's machine. Open it in this browser.
        </p>
      )}
      {sentTo === undefined && linksFile !== undefined && (
        <p className="hint">
          Running locally without an email server? The link will be written to <code>{linksFile}</code>.
        </p>
      )}
    </form>
  );
}
