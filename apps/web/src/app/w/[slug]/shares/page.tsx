import type { Metadata } from "next";
import { hubAs, readOrNotFound, readWorkspace } from "@/lib/server/hub-api";
import { SharesView } from "./shares-view";

export const metadata: Metadata = { title: "Shares" };

export default async function SharesPage({ params }: { params: Promise<{ slug: string }> }) {
  const workspace = await readWorkspace((await params).slug);
  const hub = await hubAs(workspace.id);
  const [shares, services] = await Promise.all([
    readOrNotFound(hub.shares.list.query()),
    readOrNotFound(hub.services.list.query()),
  ]);
  return <SharesView initial={{ shares, services }} />;
}
