import { redirect } from "next/navigation";
import { readSignedInUser } from "@/lib/server/hub-api";

/** The front door: your first workspace when signed in, the sign-in page otherwise. */
export default async function HomePage() {
  const signedIn = await readSignedInUser();
  if (signedIn === undefined) redirect("/sign-in");
  const first = signedIn.workspaces[0];
  redirect(first === undefined ? "/workspaces/new" : `/w/${first.slug}`);
}
