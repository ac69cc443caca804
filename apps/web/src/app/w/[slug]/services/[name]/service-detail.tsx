"use client";

import type { LinkView, ServiceTrafficView, ServiceView, ShareView } from "@private-connect/api";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { CommandLine } from "@/components/copy-button";
import { E2ePolicyBadge, StreamEncryptionBadge } from "@/components/e2e-badges";
import { EmptyState } from "@/components/empty-state";
import { useWorkspace, workspaceKey } from "@/components/workspace-context";
import { describeE2ePolicy } from "@/lib/e2e";
import { formatBytes, formatRelative } from "@/lib/format";
import { useTraffic } from "@/lib/queries";
import { Presence } from "../../overview";

export function ServiceDetail({
  initial,
}: {
  initial: { service: ServiceView; traffic: ServiceTrafficView[]; shares: ShareView[]; links: LinkView[] };
}) {
  const { api, workspace, now } = useWorkspace();
  const name = initial.service.name;
  const service =
    useQuery({
      queryKey: workspaceKey(workspace.id, "service", name),
      queryFn: () => api.services.get.query({ name }),
      initialData: initial.service,
      // Removed meanwhile: keep showing what was there, with the status below saying so.
      retry: false,
    }).data ?? initial.service;
  const traffic = (useTraffic(initial.traffic).data ?? []).find((entry) => entry.name === name);
  const shares = initial.shares.filter((share) => share.services.includes(name));
  const links = initial.links.filter((link) => link.service === name);

  return (
    <>
      <p className="breadcrumb">
        <Link href={`/w/${workspace.slug}`}>Overview</Link> / service
      </p>
      <h1>{service.name}</h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <Presence online={service.online} />
        </dd>
        <dt>Exposed by</dt>
        <dd>agent {service.agentLabel}</dd>
        <dt>Target (on that agent's machine)</dt>
        <dd>
          <code>
            {service.targetHost}:{service.targetPort}
          </code>
        </dd>
        <dt>End-to-end encryption</dt>
        <dd data-testid="e2e-policy">
          <E2ePolicyBadge policy={service.e2ePolicy} /> {describeE2ePolicy(service.e2ePolicy)}
        </dd>
        <dt>Open connections</dt>
        <dd data-testid="open-connections">{traffic?.openConnections ?? 0}</dd>
        <dt>Bytes relayed (since the hub started)</dt>
        <dd>{formatBytes(traffic?.bytesRelayed ?? 0)}</dd>
      </dl>

      <section aria-labelledby="reach-heading">
        <h2 id="reach-heading">Reach it</h2>
        <p>From any agent of this workspace; it prints the local port to connect to:</p>
        <CommandLine command={`connect reach ${service.name}`} label="Reach this service" />
        <p>From another workspace, share it first (see below), then on their agent:</p>
        <CommandLine command={`connect reach ${service.name} --from ${workspace.slug}`} label="Reach it through a share" />
      </section>

      <section aria-labelledby="connections-heading">
        <h2 id="connections-heading">Open connections</h2>
        {(traffic?.connections.length ?? 0) === 0 ? (
          <p className="muted">Nobody is connected right now.</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">Through</th>
                <th scope="col">Encryption</th>
                <th scope="col">Bytes</th>
              </tr>
            </thead>
            <tbody>
              {traffic?.connections.map((connection, index) => (
                // Connections have no identity of their own to show; their order is by size.
                // biome-ignore lint/suspicious/noArrayIndexKey: see above.
                <tr key={index}>
                  <td data-label="From">
                    {connection.via === "link" ? "a public link's visitor" : (connection.agentLabel ?? "an agent")}
                  </td>
                  <td data-label="Through">
                    {connection.via === "agent"
                      ? "this workspace"
                      : connection.via === "share"
                        ? `share ${connection.shareName}`
                        : "public link"}
                  </td>
                  <td data-label="Encryption" data-testid="stream-encryption">
                    <StreamEncryptionBadge isEndToEnd={connection.isEndToEnd} />
                  </td>
                  <td data-label="Bytes">{formatBytes(connection.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="shares-heading">
        <h2 id="shares-heading">Shares including it</h2>
        {shares.length === 0 ? (
          <EmptyState title="Not shared with any other workspace">
            <p>
              <Link href={`/w/${workspace.slug}/shares`}>Create a share</Link> to let another workspace's agents reach it.
            </p>
          </EmptyState>
        ) : (
          <ul className="plain-list">
            {shares.map((share) => (
              <li key={share.id}>
                <strong>{share.name}</strong> ({share.status}, expires {formatRelative(share.expiresAt, now)}):{" "}
                {share.joiners.length === 0
                  ? "nobody joined yet"
                  : `joined by ${share.joiners.map((joiner) => joiner.agentLabel).join(", ")}`}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="links-heading">
        <h2 id="links-heading">Public links to it</h2>
        {links.length === 0 ? (
          service.e2ePolicy === "required" ? (
            // createLink refuses it: say so here rather than send people to a form that will.
            <p className="muted">
              None, and it cannot have one: it requires end-to-end encryption, and a public link is read by the hub (it applies
              methods and paths).
            </p>
          ) : (
            <p className="muted">
              None. <Link href={`/w/${workspace.slug}/links`}>Create a public link</Link> to let anyone with the URL make HTTP
              requests to it.
            </p>
          )
        ) : (
          <ul className="plain-list">
            {links.map((link) => (
              <li key={link.id}>
                <code>{link.slugHint}…</code> ({link.status}), {link.accessCount} request{link.accessCount === 1 ? "" : "s"}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
