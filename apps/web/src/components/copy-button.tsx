"use client";

import { useState } from "react";

/**
 * Copies a value to the clipboard. The value lives only in the page's memory: nothing here (or
 * anywhere in the dashboard) writes a key or code to localStorage or sessionStorage.
 */
export function CopyButton({ value, label = "Copy", ariaLabel }: { value: string; label?: string; ariaLabel?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setState("copied");
    } catch {
      // Clipboard access can be refused (an insecure origin, a denied permission): say so, the
      // value is still on screen to select by hand.
      setState("failed");
    }
  }
  return (
    <span className="copy">
      <button type="button" className="button button-small" onClick={copy} aria-label={ariaLabel}>
        {label}
      </button>
      <span className="copy-state" role="status">
        {state === "copied" ? "Copied" : state === "failed" ? "Copy failed: select the text and copy it" : ""}
      </span>
    </span>
  );
}

/** A command to paste into a terminal, with its copy button. */
export function CommandLine({ command, label }: { command: string; label?: string }) {
  return (
    <div className="command">
      <code>{command}</code>
      <CopyButton value={command} ariaLabel={label === undefined ? "Copy the command" : `Copy the command: ${label}`} />
    </div>
  );
}

/** A secret shown once (API key, share code, link URL): readable, selectable, copyable, then gone. */
export function RevealedSecret({ title, value, hint }: { title: string; value: string; hint: string }) {
  return (
    <section className="secret" aria-label={title}>
      <p className="secret-title">{title}</p>
      <div className="command">
        <code data-testid="revealed-secret">{value}</code>
        <CopyButton value={value} ariaLabel={`Copy ${title}`} />
      </div>
      <p className="hint">{hint}</p>
    </section>
  );
}
