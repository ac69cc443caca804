"use client";

import { type ReactNode, useState } from "react";
import type { ApiClient } from "@/lib/api-client";
import { Notice, useAction } from "./notice";
import { useWorkspace } from "./workspace-context";

/**
 * Revoke (or remove) with a confirmation step on the page itself rather than window.confirm, so
 * it works the same by keyboard, screen reader and test. The outcome stays visible after the
 * row changes to "revoked", which is why the button hides itself instead of unmounting.
 */
export function RevokeButton<R>({
  what,
  isRevocable,
  revoke,
  onDone,
  verb = "Revoke",
  done = `Revoked ${what}: its open connections are cut.`,
  confirmation,
}: {
  what: string;
  isRevocable: boolean;
  revoke: (api: ApiClient) => Promise<R>;
  /** Told the success text too, for a page whose row disappears (its notice would go with it). */
  onDone: (message: string) => void;
  verb?: string;
  /** The success text, or how to word it from what the hub answered (what else went with it). */
  done?: string | ((result: R) => string);
  /** Shown with the confirm button: what else the action takes along, and any choice about it. */
  confirmation?: ReactNode;
}) {
  const { api } = useWorkspace();
  const [isConfirming, setIsConfirming] = useState(false);
  const { notice, isPending, run } = useAction();
  async function confirm() {
    let message = "";
    const result = await run(
      () => revoke(api),
      (answer) => {
        message = typeof done === "function" ? done(answer) : done;
        return message;
      },
    );
    setIsConfirming(false);
    if (result !== undefined) onDone(message);
  }
  return (
    <div>
      {isRevocable &&
        (isConfirming ? (
          <>
            {confirmation}
            <span className="actions">
              <button type="button" className="button button-small button-danger" onClick={confirm} disabled={isPending}>
                Yes, {verb.toLowerCase()} {what}
              </button>
              <button type="button" className="button button-small button-quiet" onClick={() => setIsConfirming(false)}>
                Cancel
              </button>
            </span>
          </>
        ) : (
          <button
            type="button"
            className="button button-small button-danger"
            onClick={() => setIsConfirming(true)}
            aria-label={`${verb} ${what}`}
          >
            {verb}
          </button>
        ))}
      <Notice notice={notice} />
    </div>
  );
}
