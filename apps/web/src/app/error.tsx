"use client";

import Link from "next/link";

/** Anything a page could not load: the hub's message, and a way to try again. */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main className="centered">
      <h1>This page could not load</h1>
      <p role="alert">
        {error.digest === undefined ? error.message : "The dashboard could not reach the hub, or the hub failed: try again."}
      </p>
      <p className="actions">
        <button type="button" className="button" onClick={reset}>
          Try again
        </button>
        <Link className="button button-quiet" href="/">
          Your workspaces
        </Link>
      </p>
    </main>
  );
}
