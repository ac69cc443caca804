import type { Metadata } from "next";
import { hubAs, readOrNotFound, readWorkspace } from "@/lib/server/hub-api";
import { MembersView } from "./members-view";

export const metadata: Metadata = { title: "Members" };

export default async function MembersPage({ params }: { params: Promise<{ slug: string }> }) {
  const workspace = await readWorkspace((await params).slug);
  const hub = await hubAs(workspace.id);
  const [members, invitations] = await Promise.all([
    readOrNotFound(hub.members.list.query()),
    readOrNotFound(hub.members.invitations.query()),
  ]);
  return <MembersView initial={members} initialInvitations={invitations} currentUserId={workspace.user.id} />;
}
