import type { Metadata } from "next";
import { hubAs, readOrNotFound, readWorkspace } from "@/lib/server/hub-api";
import { MembersView } from "./members-view";

export const metadata: Metadata = { title: "Members" };

export default async function MembersPage({ params }: { params: Promise<{ slug: string }> }) {
  const workspace = await readWorkspace((await params).slug);
  const members = await readOrNotFound((await hubAs(workspace.id)).members.list.query());
  return <MembersView initial={members} currentUserId={workspace.user.id} />;
}
