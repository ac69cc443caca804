import type { Metadata } from "next";
import { hubAs, readIfAllowed, readOrNotFound, readWorkspace } from "@/lib/server/hub-api";
import { LinksView } from "./links-view";

export const metadata: Metadata = { title: "Public links" };

export default async function LinksPage({ params }: { params: Promise<{ slug: string }> }) {
  const workspace = await readWorkspace((await params).slug);
  const hub = await hubAs(workspace.id);
  const [links, services, accesses] = await Promise.all([
    readOrNotFound(hub.links.list.query()),
    readOrNotFound(hub.services.list.query()),
    readIfAllowed(hub.audit.list.query({ type: "link", action: "access", limit: 200 })),
  ]);
  return <LinksView initial={{ links, services, accesses: accesses?.events ?? [] }} />;
}
