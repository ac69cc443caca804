import type { Metadata } from "next";
import Link from "next/link";
import { requireSignedInUser } from "@/lib/server/hub-api";
import { NewWorkspaceForm } from "./new-workspace-form";

export const metadata: Metadata = { title: "New workspace" };

export default async function NewWorkspacePage() {
  const signedIn = await requireSignedInUser("/workspaces/new");
  return (
    <main className="centered narrow">
      {signedIn.workspaces.length > 0 && (
        <p className="breadcrumb">
          <Link href="/">Your workspaces</Link>
        </p>
      )}
      <h1>New workspace</h1>
      <p>
        {signedIn.workspaces.length === 0
          ? `You (${signedIn.user.email}) are not a member of any workspace. Create one, or ask an owner to invite you.`
          : "A workspace is an access boundary: its agents reach only its own services, unless you share them."}
      </p>
      <NewWorkspaceForm />
    </main>
  );
}
