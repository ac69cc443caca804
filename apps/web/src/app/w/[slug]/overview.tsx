"use client";

import type { AgentListItem, ServiceTrafficView, ServiceView } from "@private-connect/api";
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { CommandLine } from "@/components/copy-button";
import { E2ePolicyBadge } from "@/components/e2e-badges";
import { EmptyState } from "@/components/empty-state";
import { Notice } from "@/components/notice";
import { RevokeButton } from "@/components/revoke-button";
import { TableHead } from "@/components/table-head";
import { useWorkspace, workspaceKey } from "@/components/workspace-context";
import { describeTokenState, formatBytes, formatRelative, formatTime } from "@/lib/format";
import { useAgents, useServices, useTraffic } from "@/lib/queries";

export function Overview({
  initial,
  currentUserId,
}: {
  initial: { agents: AgentListItem[]; services: ServiceView[]; traffic: ServiceTrafficView[] };
  /** Members may revoke the agents they approved themselves; owners any agent. */
  currentUserId: string;
}) {
  const { workspace } = useWorkspace();
  const queryClient = useQueryClient();
  const [revoked, setRevoked] = useState<string>();
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
        {/* Here, not in the row: a revoked agent leaves the list, and its row's notice with it. */}
        <Notice notice={revoked === undefined ? undefined : { kind: "success", text: revoked }} />
        {agents.length === 0 ? (
          <EmptyState title="No agent has connected to this workspace yet">
            <p>
              On the machine with the service, start an agent with an API key of this workspace (create one on the{" "}
              <Link href={`/w/${workspace.slug}/api-keys`}>API keys</Link> page):
            </p>
            <CommandLine command={`connect up --hub ${workspace.hubUrl} --api-key <key> --label server`} label="Start an agent" />
          </EmptyState>
        ) : (
          <AgentTable
            agents={agents}
            currentUserId={currentUserId}
            onRevoked={(message) => {
              setRevoked(message);
              void queryClient.invalidateQueries({ queryKey: workspaceKey(workspace.id) });
            }}
          />
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
                <th scope="col">End-to-end encryption</th>
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
                    <td data-label="End-to-end encryption" data-testid="e2e-policy">
                      <E2ePolicyBadge policy={service.e2ePolicy} />
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

/** "key ci", "dev@acme.test", "provisioning key runners": what let the agent into the workspace. */
export function describeCreator(createdBy: AgentListItem["createdBy"]): string {
  const name = createdBy.name ?? (createdBy.id === null ? null : "deleted");
  switch (createdBy.type) {
    case "api_key":
      return `key ${name ?? "unknown"}`;
    case "provisioning_key":
      return `provisioning key ${name ?? "unknown"}`;
    case "user":
      return name ?? "a former member";
    default:
      return "unknown";
  }
}

function AgentTable({
  agents,
  currentUserId,
  onRevoked,
}: {
  agents: AgentListItem[];
  currentUserId: string;
  onRevoked: (message: string) => void;
}) {
  const { now, workspace } = useWorkspace();
  const isOwner = workspace.role === "owner";
  return (
    <table className="table" data-testid="agents-table">
      <TableHead columns={["Agent", "Status", "Created by", "Last seen", "Address", "Client", "Token"]} />
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
              <td data-label="Created by" data-testid="agent-created-by">
                {describeCreator(agent.createdBy)}
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
              <td data-label="Actions">
                {/* The hub decides; this only hides a button a member would be refused. */}
                <RevokeButton
                  what={`agent ${agent.label}`}
                  isRevocable={isOwner || (agent.createdBy.type === "user" && agent.createdBy.id === currentUserId)}
                  revoke={(api) => api.agents.revoke.mutate({ agentId: agent.agentId })}
                  onDone={onRevoked}
                  done={`Revoked agent ${agent.label}: its connection to the hub is closed and its token no longer works.`}
                />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
