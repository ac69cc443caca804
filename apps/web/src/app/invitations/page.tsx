import type { Metadata } from "next";
import { hubAs, requireSignedInUser } from "@/lib/server/hub-api";
import { InvitationsView } from "./invitations-view";

export const metadata: Metadata = { title: "Invitations" };

export default async function InvitationsPage() {
  const signedIn = await requireSignedInUser("/invitations");
  const invitations = await (await hubAs()).invitations.list.query();
  return <InvitationsView initial={invitations} email={signedIn.user.email} workspaces={signedIn.workspaces} />;
}
