"use client";

import type { AuditEventView, CreatedLink, LinkView, ServiceView } from "@private-connect/api";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { CommandLine, RevealedSecret } from "@/components/copy-button";
import { EmptyState } from "@/components/empty-state";
import { GrantStatus } from "@/components/grant-status";
import { Notice, useAction } from "@/components/notice";
import { RevokeButton } from "@/components/revoke-button";
import { TableHead } from "@/components/table-head";
import { useWorkspace, workspaceKey } from "@/components/workspace-context";
import { EXPIRY_CHOICES, formatRelative, formatTime, maskAddress } from "@/lib/format";
import { useServices } from "@/lib/queries";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
/** Recent accesses shown under each link; the audit log has them all. */
const ACCESSES_PER_LINK = 5;

export function LinksView({ initial }: { initial: { links: LinkView[]; services: ServiceView[]; accesses: AuditEventView[] } }) {
  const { api, workspace } = useWorkspace();
  const queryClient = useQueryClient();
  const linksKey = workspaceKey(workspace.id, "links");
  const links = useQuery({ queryKey: linksKey, queryFn: () => api.links.list.query(), initialData: initial.links }).data;
  const accesses =
    useQuery({
      queryKey: workspaceKey(workspace.id, "link-accesses"),
      queryFn: async () => (await api.audit.list.query({ type: "link", action: "access", limit: 200 })).events,
      initialData: initial.accesses,
      refetchInterval: 10_000,
    }).data ?? [];
  const services = useServices(initial.services).data ?? [];
  const refresh = () => queryClient.invalidateQueries({ queryKey: linksKey });

  return (
    <>
      <h1>Public links</h1>
      <p className="lede">
        A public link lets anyone with its URL send HTTP requests to one service, limited to the methods and paths you allow,
        until it expires or you revoke it. The URL is shown once.
      </p>
      <CreateLinkForm services={services} onCreated={refresh} />
      <h2>Your links</h2>
      {links.length === 0 ? (
        <EmptyState title="No public links yet">
          <p>Create one above for an HTTP service, or from an agent of this workspace:</p>
          <CommandLine command="connect link api --methods GET --paths /status --expires 1d" label="Create a link" />
        </EmptyState>
      ) : (
        <LinkTable links={links} accesses={accesses} onRevoked={refresh} />
      )}
    </>
  );
}

function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function CreateLinkForm({ services, onCreated }: { services: ServiceView[]; onCreated: () => void }) {
  const { api } = useWorkspace();
  const { notice, isPending, run } = useAction();
  const [service, setService] = useState("");
  const [methods, setMethods] = useState<string[]>([]);
  const [paths, setPaths] = useState("");
  const [rateLimit, setRateLimit] = useState("");
  const [expires, setExpires] = useState(String(7 * 86_400));
  const [created, setCreated] = useState<CreatedLink>();
  const chosenService = service === "" ? services[0]?.name : service;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setCreated(undefined);
    const result = await run(
      () =>
        api.links.create.mutate({
          service: chosenService ?? "",
          methods: methods.length === 0 ? undefined : methods,
          paths: splitList(paths).length === 0 ? undefined : splitList(paths),
          rateLimitPerMinute: rateLimit === "" ? undefined : Number(rateLimit),
          expiresInSeconds: Number(expires),
        }),
      (link) => `Link to ${link.service} created. Copy its URL now: it is not shown again.`,
    );
    if (result === undefined) return;
    setCreated(result);
    setPaths("");
    setRateLimit("");
    onCreated();
  }

  if (services.length === 0) {
    return (
      <EmptyState title="No service to link to">
        <p>Expose an HTTP service on an agent first:</p>
        <CommandLine command="connect expose localhost:8080 --name api" label="Expose a service" />
      </EmptyState>
    );
  }

  return (
    <>
      <form className="form" onSubmit={submit} aria-labelledby="create-link-heading">
        <h2 id="create-link-heading">Create a public link</h2>
        <label htmlFor="link-service">Service</label>
        <select id="link-service" value={chosenService} onChange={(event) => setService(event.target.value)}>
          {services.map((item) => (
            <option key={item.id} value={item.name}>
              {item.name}
            </option>
          ))}
        </select>
        <fieldset>
          <legend>Methods</legend>
          <div className="checkbox-row">
            {METHODS.map((method) => (
              <label key={method}>
                <input
                  type="checkbox"
                  name="methods"
                  value={method}
                  checked={methods.includes(method)}
                  onChange={(event) =>
                    setMethods((previous) =>
                      event.target.checked ? [...previous, method] : previous.filter((item) => item !== method),
                    )
                  }
                />
                {method}
              </label>
            ))}
          </div>
          <p className="hint">None ticked: every method. Others get 405.</p>
        </fieldset>
        <label htmlFor="link-paths">Path prefixes (optional, one per line or comma separated)</label>
        <textarea
          id="link-paths"
          rows={2}
          value={paths}
          onChange={(event) => setPaths(event.target.value)}
          placeholder="/status, /webhooks"
          aria-describedby="link-paths-hint"
        />
        <p className="hint" id="link-paths-hint">
          Empty: every path. Prefixes match whole segments (/api allows /api/x, not /apix); others get 403.
        </p>
        <label htmlFor="link-rate">Rate limit (requests per minute per visitor address, optional)</label>
        <input
          id="link-rate"
          type="number"
          min={1}
          max={100000}
          inputMode="numeric"
          value={rateLimit}
          onChange={(event) => setRateLimit(event.target.value)}
        />
        <label htmlFor="link-expires">Expires after</label>
        <select id="link-expires" value={expires} onChange={(event) => setExpires(event.target.value)}>
          {EXPIRY_CHOICES.map((choice) => (
            <option key={choice.seconds} value={choice.seconds}>
              {choice.label}
            </option>
          ))}
        </select>
        <button className="button" type="submit" disabled={isPending}>
          {isPending ? "Creating…" : "Create link"}
        </button>
        <Notice notice={notice} />
      </form>
      {created !== undefined && (
        <RevealedSecret
          title={`URL of the link to ${created.service}`}
          value={created.url}
          hint={`Anyone with this URL can use it until ${formatTime(created.expiresAt)}${created.methods.length > 0 ? ` (${created.methods.join(", ")} only)` : ""}.`}
        />
      )}
    </>
  );
}

function LinkTable({ links, accesses, onRevoked }: { links: LinkView[]; accesses: AuditEventView[]; onRevoked: () => void }) {
  const { now } = useWorkspace();
  return (
    <table className="table" data-testid="links-table">
      <TableHead columns={["Link", "Allows", "Status", "Requests", "Recent requests"]} />
      <tbody>
        {links.map((link) => {
          const recent = accesses.filter((event) => event.data.linkId === link.id).slice(0, ACCESSES_PER_LINK);
          return (
            <tr key={link.id} data-link={link.slugHint}>
              <td data-label="Link">
                {link.service} <code className="muted">{link.slugHint}…</code>
              </td>
              <td data-label="Allows">
                {link.methods.length === 0 ? "any method" : link.methods.join(", ")}
                {" on "}
                {link.paths.length === 0 ? "any path" : link.paths.join(", ")}
                {link.rateLimitPerMinute !== null && (
                  <span className="hint"> (max {link.rateLimitPerMinute}/min per address)</span>
                )}
              </td>
              <td data-label="Status">
                <GrantStatus status={link.status} expiresAt={link.expiresAt} revokedAt={link.revokedAt} now={now} />
              </td>
              <td data-label="Requests" data-testid="access-count">
                {link.accessCount}
                {link.lastAccessAt !== null && <span className="hint"> (last {formatRelative(link.lastAccessAt, now)})</span>}
              </td>
              <td data-label="Recent requests">
                {recent.length === 0 ? (
                  <span className="hint">none yet</span>
                ) : (
                  <ul className="plain-list">
                    {recent.map((event) => (
                      <li key={event.id}>
                        <code>
                          {String(event.data.method ?? "")} {String(event.data.path ?? "")}
                        </code>{" "}
                        {String(event.data.status ?? "")} from {maskAddress(event.ip)}, {formatRelative(event.occurredAt, now)}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
              <td data-label="Actions">
                <RevokeButton
                  what={`link ${link.slugHint}…`}
                  isRevocable={link.status === "active"}
                  revoke={(api) => api.links.revoke.mutate({ id: link.id })}
                  onDone={onRevoked}
                  done={`Revoked the link to ${link.service}: its URL answers 404 from now on.`}
                />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
