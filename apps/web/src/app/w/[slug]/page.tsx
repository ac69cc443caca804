import type { Metadata } from "next";
import { hubAs, readOrNotFound, readWorkspace } from "@/lib/server/hub-api";
import { Overview } from "./overview";

export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const workspace = await readWorkspace(slug);
  const hub = await hubAs(workspace.id);
  const [agents, services, traffic] = await Promise.all([
    readOrNotFound(hub.agents.list.query()),
    readOrNotFound(hub.services.list.query()),
    readOrNotFound(hub.services.traffic.query()),
  ]);
  return <Overview initial={{ agents, services, traffic }} currentUserId={workspace.user.id} />;
}
