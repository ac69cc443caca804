import type { Metadata } from "next";
import { hubAs, readIfAllowed, readWorkspace } from "@/lib/server/hub-api";
import { ApiKeysView } from "./api-keys-view";

export const metadata: Metadata = { title: "API keys" };

export default async function ApiKeysPage({ params }: { params: Promise<{ slug: string }> }) {
  const workspace = await readWorkspace((await params).slug);
  // Members may not manage keys: the hub says FORBIDDEN, the page says who can.
  const keys = await readIfAllowed((await hubAs(workspace.id)).apiKeys.list.query());
  return <ApiKeysView initial={keys} />;
}
