import type { Metadata } from "next";
import { hubAs, readOrNotFound, readWorkspace } from "@/lib/server/hub-api";
import { SettingsView } from "./settings-view";

export const metadata: Metadata = { title: "Settings" };

export default async function SettingsPage({ params }: { params: Promise<{ slug: string }> }) {
  const workspace = await readWorkspace((await params).slug);
  const hub = await hubAs(workspace.id);
  const settings = await readOrNotFound(hub.workspaces.get.query());
  return <SettingsView initial={settings} />;
}
