import type { Metadata } from "next";
import { hubAs, readOrNotFound, readWorkspace } from "@/lib/server/hub-api";
import { ServiceDetail } from "./service-detail";

type Params = { params: Promise<{ slug: string; name: string }> };

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  return { title: decodeURIComponent((await params).name) };
}

export default async function ServicePage({ params }: Params) {
  const { slug, name: encodedName } = await params;
  const name = decodeURIComponent(encodedName);
  const workspace = await readWorkspace(slug);
  const hub = await hubAs(workspace.id);
  // First the service itself: another workspace's service (or none) is a 404, like any name.
  const service = await readOrNotFound(hub.services.get.query({ name }));
  const [traffic, shares, links] = await Promise.all([
    readOrNotFound(hub.services.traffic.query()),
    readOrNotFound(hub.shares.list.query()),
    readOrNotFound(hub.links.list.query()),
  ]);
  return <ServiceDetail initial={{ service, traffic, shares, links }} />;
}
