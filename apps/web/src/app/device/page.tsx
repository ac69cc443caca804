import type { Metadata } from "next";
import Link from "next/link";
import { requireSignedInUser } from "@/lib/server/hub-api";
import { DeviceForm } from "./device-form";

export const metadata: Metadata = { title: "Approve a device" };

/** Where `connect login` sends people: approve (or deny) the code its terminal shows. */
export default async function DevicePage({ searchParams }: { searchParams: Promise<{ code?: string | string[] }> }) {
  const { code } = await searchParams;
  const userCode = typeof code === "string" ? code.slice(0, 32) : "";
  const signedIn = await requireSignedInUser(`/device${userCode === "" ? "" : `?code=${encodeURIComponent(userCode)}`}`);
  return (
    <main className="centered narrow">
      <p className="breadcrumb">
        <Link href="/">Your workspaces</Link>
      </p>
      <h1>Approve a device</h1>
      <p>
        A machine ran <code>connect login</code> and shows a code. If the code below is the one on that machine's screen, approve
        it: the machine becomes an agent of the workspace you choose. If you did not start this, deny it.
      </p>
      {signedIn.workspaces.length === 0 ? (
        <p className="notice notice-warning">
          You are not a member of any workspace yet: <Link href="/workspaces/new">create one</Link> first.
        </p>
      ) : (
        <DeviceForm
          initialCode={userCode}
          workspaces={signedIn.workspaces.filter((workspace) => workspace.role === "owner" || workspace.role === "member")}
        />
      )}
    </main>
  );
}
