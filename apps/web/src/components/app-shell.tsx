"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { type ReactNode, useMemo, useState } from "react";
import { createApiClient, describeError } from "@/lib/api-client";
import { useWorkspace } from "./workspace-context";

const SECTIONS = [
  { path: "", label: "Overview" },
  { path: "/shares", label: "Shares" },
  { path: "/links", label: "Public links" },
  { path: "/api-keys", label: "API keys" },
  { path: "/audit", label: "Audit log" },
  { path: "/members", label: "Members" },
  { path: "/settings", label: "Settings" },
] as const;

export function AppShell({
  email,
  current,
  workspaces,
  children,
}: {
  email: string;
  current: { slug: string; name: string; role: string };
  workspaces: { slug: string; name: string }[];
  children: ReactNode;
}) {
  const pathname = usePathname();
  const router = useRouter();
  const { isLive, accessEnded } = useWorkspace();
  const base = `/w/${current.slug}`;

  return (
    <div className="shell">
      <header className="topbar">
        <Link className="brand" href={base}>
          Private Connect
        </Link>
        <div className="switcher">
          <label htmlFor="workspace-switcher" className="visually-hidden">
            Workspace
          </label>
          <select
            id="workspace-switcher"
            value={current.slug}
            onChange={(event) => router.push(event.target.value === "" ? "/workspaces/new" : `/w/${event.target.value}`)}
          >
            {workspaces.map((workspace) => (
              <option key={workspace.slug} value={workspace.slug}>
                {workspace.name}
              </option>
            ))}
            <option value="">+ New workspace…</option>
          </select>
        </div>
        <span className={`live ${isLive ? "live-on" : "live-off"}`} title={isLive ? "Live updates on" : "Live updates paused"}>
          {isLive ? "Live" : accessEnded === undefined ? "Connecting…" : "No access"}
        </span>
        <div className="account">
          <span className="account-email">
            {email} <span className="role">({current.role})</span>
          </span>
          <SignOutButton />
        </div>
      </header>
      <nav className="sections" aria-label="Workspace sections">
        {SECTIONS.map((section) => {
          const href = `${base}${section.path}`;
          const isCurrent =
            section.path === "" ? pathname === base || pathname.startsWith(`${base}/services`) : pathname.startsWith(href);
          return (
            <Link key={section.label} href={href} aria-current={isCurrent ? "page" : undefined}>
              {section.label}
            </Link>
          );
        })}
      </nav>
      {accessEnded !== undefined && (
        <p role="alert" className="notice notice-error">
          {accessEnded.message}{" "}
          {accessEnded.isSignedOut ? (
            <Link href="/sign-in">Sign in</Link>
          ) : (
            // The front door sends them to a workspace they still belong to, or to make one.
            <Link href="/">Go to your workspaces</Link>
          )}
        </p>
      )}
      <main className="content">{children}</main>
    </div>
  );
}

function SignOutButton() {
  const api = useMemo(() => createApiClient(), []);
  const [error, setError] = useState<string>();
  async function signOut() {
    try {
      await api.auth.logout.mutate();
      window.location.assign("/sign-in");
    } catch (caught) {
      setError(describeError(caught));
    }
  }
  return (
    <>
      <button type="button" className="button button-small button-quiet" onClick={signOut}>
        Sign out
      </button>
      {error !== undefined && (
        <span role="alert" className="notice notice-error">
          {error}
        </span>
      )}
    </>
  );
}
