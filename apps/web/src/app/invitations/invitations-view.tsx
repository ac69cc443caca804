"use client";

import type { MyInvitationView } from "@private-connect/api";
import Link from "next/link";
import { useMemo, useState } from "react";
import { Notice, useAction } from "@/components/notice";
import { createApiClient } from "@/lib/api-client";

/**
 * Invitations addressed to the signed-in address. Nobody becomes a member of a workspace until
 * they accept here; declining tells the workspace's owners (in its audit log) and nothing more.
 */
export function InvitationsView({
  initial,
  email,
  workspaces,
}: {
  initial: MyInvitationView[];
  email: string;
  workspaces: { slug: string; name: string }[];
}) {
  const [invitations, setInvitations] = useState(initial);
  const [declined, setDeclined] = useState<string>();
  const first = workspaces[0];
  return (
    <main className="centered narrow">
      {first !== undefined && (
        <p className="breadcrumb">
          <Link href={`/w/${first.slug}`}>Your workspaces</Link>
        </p>
      )}
      <h1>Invitations</h1>
      <p className="lede">
        Invitations to {email}. Accepting makes you a member of that workspace, with the role shown; until then its owners cannot
        add you.
      </p>
      <Notice notice={declined === undefined ? undefined : { kind: "success", text: declined }} />
      {invitations.length === 0 ? (
        <p>
          No invitations waiting.{" "}
          {first === undefined ? (
            <Link href="/workspaces/new">Create a workspace</Link>
          ) : (
            <Link href={`/w/${first.slug}`}>Open {first.name}</Link>
          )}
        </p>
      ) : (
        <ul data-testid="invitations">
          {invitations.map((invitation) => (
            <InvitationItem
              key={invitation.id}
              invitation={invitation}
              onDeclined={(message) => {
                setDeclined(message);
                setInvitations((current) => current.filter((candidate) => candidate.id !== invitation.id));
              }}
            />
          ))}
        </ul>
      )}
    </main>
  );
}

function InvitationItem({ invitation, onDeclined }: { invitation: MyInvitationView; onDeclined: (message: string) => void }) {
  const api = useMemo(() => createApiClient(), []);
  const { notice, isPending, run } = useAction();
  const { name } = invitation.workspace;

  async function accept() {
    const joined = await run(
      () => api.invitations.accept.mutate({ id: invitation.id }),
      (workspace) => `You joined ${workspace.name} as ${workspace.role}. Opening it…`,
    );
    // A full navigation: the workspace's pages are rendered with the new membership.
    if (joined !== undefined) window.location.assign(`/w/${joined.slug}`);
  }

  async function decline() {
    const result = await run(
      () => api.invitations.decline.mutate({ id: invitation.id }),
      () => `Declined the invitation to ${name}.`,
    );
    if (result !== undefined) onDeclined(`Declined the invitation to ${name}.`);
  }

  return (
    <li data-invitation={invitation.workspace.slug}>
      <p>
        <strong>{name}</strong> as {invitation.role}
        {invitation.invitedBy === null ? "" : `, invited by ${invitation.invitedBy}`}
      </p>
      <span className="actions">
        <button type="button" className="button" onClick={accept} disabled={isPending}>
          Accept invitation to {name}
        </button>
        <button type="button" className="button button-quiet" onClick={decline} disabled={isPending}>
          Decline
        </button>
      </span>
      <Notice notice={notice} />
    </li>
  );
}
