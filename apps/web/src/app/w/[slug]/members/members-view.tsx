"use client";

import type { InvitationView, MemberView } from "@private-connect/api";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Notice, useAction } from "@/components/notice";
import { RevokeButton } from "@/components/revoke-button";
import { TableHead } from "@/components/table-head";
import { useWorkspace, workspaceKey } from "@/components/workspace-context";
import { formatRelative } from "@/lib/format";

export function MembersView({
  initial,
  initialInvitations,
  currentUserId,
}: {
  initial: MemberView[];
  initialInvitations: InvitationView[];
  currentUserId: string;
}) {
  const { api, workspace } = useWorkspace();
  const queryClient = useQueryClient();
  const membersKey = workspaceKey(workspace.id, "members");
  const invitationsKey = workspaceKey(workspace.id, "invitations");
  const members = useQuery({ queryKey: membersKey, queryFn: () => api.members.list.query(), initialData: initial }).data;
  const invitations = useQuery({
    queryKey: invitationsKey,
    queryFn: () => api.members.invitations.query(),
    initialData: initialInvitations,
  }).data;
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: membersKey }),
      queryClient.invalidateQueries({ queryKey: invitationsKey }),
    ]);
  const [cancelled, setCancelled] = useState<string>();
  const [removed, setRemoved] = useState<string>();
  const isOwner = workspace.role === "owner";

  return (
    <>
      <h1>Members</h1>
      <p className="lede">
        People who can sign in to {workspace.name}. Owners invite, change roles, remove members and manage API keys; members see
        everything and manage shares and links.
      </p>
      {isOwner ? (
        <InviteForm onInvited={refresh} />
      ) : (
        <p className="notice notice-warning">Only owners invite and remove members: ask an owner of {workspace.name}.</p>
      )}
      <h2>People</h2>
      <Notice notice={removed === undefined ? undefined : { kind: "success", text: removed }} />
      <table className="table" data-testid="members-table">
        <TableHead columns={["Email", "Role", "Joined"]} />
        <tbody>
          {members.map((member) => {
            const isMe = member.userId === currentUserId;
            return (
              <tr key={member.userId} data-member={member.email}>
                <td data-label="Email">
                  {member.email}
                  {isMe && <span className="hint"> (you)</span>}
                </td>
                <td data-label="Role">{isOwner ? <RoleSelect member={member} onChanged={refresh} /> : member.role}</td>
                <td data-label="Joined">
                  <JoinedAt iso={member.joinedAt} />
                </td>
                <td data-label="Actions">
                  <RevokeButton
                    what={isMe ? `${workspace.name} (leave)` : member.email}
                    verb={isMe ? "Leave" : "Remove"}
                    isRevocable={isOwner || isMe}
                    revoke={(client) => client.members.remove.mutate({ userId: member.userId })}
                    done={
                      isMe
                        ? `You left ${workspace.name}.`
                        : `Removed ${member.email}: they lose access at once, in pages they have open too.`
                    }
                    onDone={(message) => {
                      if (isMe) {
                        window.location.assign("/");
                        return;
                      }
                      setRemoved(message);
                      void refresh();
                    }}
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Invitations</h2>
      <p className="hint">Invited people become members only once they accept, signed in with the invited address.</p>
      <Notice notice={cancelled === undefined ? undefined : { kind: "success", text: cancelled }} />
      {invitations.length === 0 ? (
        <p>No invitation is waiting for an answer.</p>
      ) : (
        <table className="table" data-testid="invitations-table">
          <TableHead columns={["Email", "Role", "Invited"]} />
          <tbody>
            {invitations.map((invitation) => (
              <tr key={invitation.id} data-invitation={invitation.email}>
                <td data-label="Email">{invitation.email}</td>
                <td data-label="Role">{invitation.role}</td>
                <td data-label="Invited">
                  <JoinedAt iso={invitation.invitedAt} />
                </td>
                <td data-label="Actions">
                  <RevokeButton
                    what={`invitation of ${invitation.email}`}
                    verb="Cancel"
                    isRevocable={isOwner}
                    revoke={(client) => client.members.cancelInvitation.mutate({ id: invitation.id })}
                    done={`Cancelled the invitation of ${invitation.email}: it can no longer be accepted.`}
                    onDone={(message) => {
                      setCancelled(message);
                      void refresh();
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function JoinedAt({ iso }: { iso: string }) {
  const { now } = useWorkspace();
  return <>{formatRelative(iso, now)}</>;
}

function InviteForm({ onInvited }: { onInvited: () => void }) {
  const { api } = useWorkspace();
  const { notice, isPending, run } = useAction();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<"member" | "owner">("member");

  async function submit(event: FormEvent) {
    event.preventDefault();
    const address = email.trim();
    const result = await run(
      () => api.members.invite.mutate({ email: address, role }),
      (invitation) =>
        `Invited ${invitation.email} as ${invitation.role}: a sign-in link is on its way, and they become a member once they accept.`,
    );
    if (result === undefined) return;
    setEmail("");
    onInvited();
  }

  return (
    <form className="form" onSubmit={submit} aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite someone</h2>
      <label htmlFor="invite-email">Email address</label>
      <input
        id="invite-email"
        type="email"
        required
        autoComplete="off"
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        placeholder="colleague@example.com"
      />
      <label htmlFor="invite-role">Role</label>
      <select id="invite-role" value={role} onChange={(event) => setRole(event.target.value === "owner" ? "owner" : "member")}>
        <option value="member">Member</option>
        <option value="owner">Owner</option>
      </select>
      <button className="button" type="submit" disabled={isPending}>
        {isPending ? "Inviting…" : "Invite"}
      </button>
      <Notice notice={notice} />
    </form>
  );
}

function RoleSelect({ member, onChanged }: { member: MemberView; onChanged: () => void }) {
  const { api } = useWorkspace();
  const { notice, isPending, run } = useAction();
  const id = `role-${member.userId}`;
  async function change(role: "owner" | "member") {
    const result = await run(
      () => api.members.setRole.mutate({ userId: member.userId, role }),
      (updated) => `${updated.email} is now ${updated.role === "owner" ? "an owner" : "a member"}.`,
    );
    if (result !== undefined) onChanged();
  }
  return (
    <div>
      <label htmlFor={id} className="visually-hidden">
        Role of {member.email}
      </label>
      <select
        id={id}
        className="inline-select"
        value={member.role}
        disabled={isPending}
        onChange={(event) => change(event.target.value === "owner" ? "owner" : "member")}
      >
        <option value="member">member</option>
        <option value="owner">owner</option>
      </select>
      <Notice notice={notice} />
    </div>
  );
}
