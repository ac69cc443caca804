"use client";

import type { AgentListItem, ServiceTrafficView, ServiceView } from "@private-connect/api";
import Link from "next/link";
import { CommandLine } from "@/components/copy-button";
import { EmptyState } from "@/components/empty-state";
import { useWorkspace } from "@/components/workspace-context";
import { describeTokenState, formatBytes, formatRelative, formatTime } from "@/lib/format";
import { useAgents, useServices, useTraffic } from "@/lib/queries";

export function Overview({
  initial,
}: {
  initial: { agents: AgentListItem[]; services: ServiceView[]; traffic: ServiceTrafficView[] };
}) {
  const { workspace } = useWorkspace();
  const agents = useAgents(initial.agents).data ?? [];
  const services = useServices(initial.services).data ?? [];
  const traffic = useTraffic(initial.traffic).data ?? [];
  const trafficByName = new Map(traffic.map((entry) => [entry.name, entry]));
  const online = agents.filter((agent) => agent.online).length;

  return (
    <>
      <h1>{workspace.name}</h1>
      <p className="lede">
        {agents.length === 0
          ? "No agents yet."
          : `${online} of ${agents.length} agent${agents.length === 1 ? "" : "s"} online, ${services.length} service${services.length === 1 ? "" : "s"} exposed.`}
      </p>

      <section aria-labelledby="agents-heading">
        <h2 id="agents-heading">Agents</h2>
        {agents.length === 0 ? (
          <EmptyState title="No agent has connected to this workspace yet">
            <p>
              On the machine with the service, start an agent with an API key of this workspace (create one on the{" "}
              <Link href={`/w/${workspace.slug}/api-keys`}>API keys</Link> page):
            </p>
            <CommandLine command={`connect up --hub ${workspace.hubUrl} --api-key <key> --label server`} label="Start an agent" />
          </EmptyState>
        ) : (
          <AgentTable agents={agents} />
        )}
      </section>

      <section aria-labelledby="services-heading">
        <h2 id="services-heading">Services</h2>
        {services.length === 0 ? (
          <EmptyState title="No service is exposed yet">
            <p>On an agent of this workspace, expose a TCP service by its local address:</p>
            <CommandLine command="connect expose localhost:5432 --name prod-db" label="Expose a service" />
          </EmptyState>
        ) : (
          <table className="table" data-testid="services-table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Agent</th>
                <th scope="col">Target</th>
                <th scope="col">Status</th>
                <th scope="col">Open connections</th>
                <th scope="col">Bytes relayed</th>
              </tr>
            </thead>
            <tbody>
              {services.map((service) => {
                const stats = trafficByName.get(service.name);
                return (
                  <tr key={service.id} data-service={service.name}>
                    <td data-label="Service">
                      <Link href={`/w/${workspace.slug}/services/${encodeURIComponent(service.name)}`}>{service.name}</Link>
                    </td>
                    <td data-label="Agent">{service.agentLabel}</td>
                    <td data-label="Target">
                      <code>
                        {service.targetHost}:{service.targetPort}
                      </code>
                    </td>
                    <td data-label="Status">
                      <Presence online={service.online} />
                    </td>
                    <td data-label="Open connections" data-testid="open-connections">
                      {stats?.openConnections ?? 0}
                    </td>
                    <td data-label="Bytes relayed">{formatBytes(stats?.bytesRelayed ?? 0)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

export function Presence({ online }: { online: boolean }) {
  return <span className={`badge ${online ? "badge-ok" : "badge-off"}`}>{online ? "Online" : "Offline"}</span>;
}

function AgentTable({ agents }: { agents: AgentListItem[] }) {
  const { now } = useWorkspace();
  return (
    <table className="table" data-testid="agents-table">
      <thead>
        <tr>
          <th scope="col">Agent</th>
          <th scope="col">Status</th>
          <th scope="col">Last seen</th>
          <th scope="col">Address</th>
          <th scope="col">Client</th>
          <th scope="col">Token</th>
        </tr>
      </thead>
      <tbody>
        {agents.map((agent) => {
          const tokenState = describeTokenState(agent.tokenExpiresAt, now);
          const latestChange = agent.recentIpChanges[0];
          return (
            <tr key={agent.agentId} data-agent={agent.label}>
              <td data-label="Agent">
                {agent.label}
                {latestChange !== undefined && (
                  <p className="notice notice-warning inline-notice">
                    Token used from a new address {formatRelative(latestChange.at, now)}: {latestChange.newIp} (was{" "}
                    {latestChange.previousIp}). If that was not this agent moving, revoke it and run connect up again.
                  </p>
                )}
              </td>
              <td data-label="Status" data-testid="agent-status">
                <Presence online={agent.online} />
              </td>
              <td data-label="Last seen">
                {agent.online ? "now" : agent.lastSeenAt === null ? "never" : formatRelative(agent.lastSeenAt, now)}
              </td>
              <td data-label="Address">{agent.lastIp ?? "—"}</td>
              <td data-label="Client">
                {agent.clientType}
                {agent.isProvisioned ? " (provisioned)" : ""}
              </td>
              <td data-label="Token">
                <span title={formatTime(agent.tokenExpiresAt)}>
                  {tokenState === "expired" ? "expired" : `expires ${formatRelative(agent.tokenExpiresAt, now)}`}
                </span>
                {tokenState === "expiring" && (
                  <p className="notice notice-warning inline-notice">
                    {agent.isProvisioned ? (
                      "Expires soon: provisioned tokens cannot be rotated, provision a new one"
                    ) : (
                      <>
                        Expires within 7 days: on that machine run <code>connect up --rotate-token</code>
                      </>
                    )}
                  </p>
                )}
                {tokenState === "expired" && (
                  <p className="notice notice-error inline-notice">
                    Expired: register it again with <code>connect up --api-key &lt;key&gt;</code>
                  </p>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
