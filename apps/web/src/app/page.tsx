import { redirect } from "next/navigation";
import { hubAs, readSignedInUser } from "@/lib/server/hub-api";

/**
 * The front door: invitations waiting for an answer first (joining a workspace is the invitee's
 * decision, taken there), then your first workspace; the sign-in page when signed out.
 */
export default async function HomePage() {
  const signedIn = await readSignedInUser();
  if (signedIn === undefined) redirect("/sign-in");
  const invitations = await (await hubAs()).invitations.list.query();
  if (invitations.length > 0) redirect("/invitations");
  const first = signedIn.workspaces[0];
  redirect(first === undefined ? "/workspaces/new" : `/w/${first.slug}`);
}
