"use client";

import type { CreatedShare, ServiceView, ShareView } from "@private-connect/api";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { CommandLine, RevealedSecret } from "@/components/copy-button";
import { EmptyState } from "@/components/empty-state";
import { GrantStatus } from "@/components/grant-status";
import { Notice, useAction } from "@/components/notice";
import { RevokeButton } from "@/components/revoke-button";
import { TableHead } from "@/components/table-head";
import { useWorkspace, workspaceKey } from "@/components/workspace-context";
import { EXPIRY_CHOICES, formatRelative, formatTime } from "@/lib/format";
import { useServices } from "@/lib/queries";

export function SharesView({ initial }: { initial: { shares: ShareView[]; services: ServiceView[] } }) {
  const { api, workspace } = useWorkspace();
  const queryClient = useQueryClient();
  const sharesKey = workspaceKey(workspace.id, "shares");
  const shares = useQuery({ queryKey: sharesKey, queryFn: () => api.shares.list.query(), initialData: initial.shares }).data;
  const services = useServices(initial.services).data ?? [];
  const refresh = () => queryClient.invalidateQueries({ queryKey: sharesKey });

  return (
    <>
      <h1>Shares</h1>
      <p className="lede">
        A share gives agents of another workspace some of your services, for a limited time. They join with the code, which is
        shown once.
      </p>
      <CreateShareForm services={services} onCreated={refresh} />
      <h2>Your shares</h2>
      {shares.length === 0 ? (
        <EmptyState title="No shares yet">
          <p>Create one above, or from any agent of this workspace:</p>
          <CommandLine command="connect share --name acme-contractor --expires 7d --services prod-db" label="Create a share" />
        </EmptyState>
      ) : (
        <ShareTable shares={shares} onRevoked={refresh} />
      )}
    </>
  );
}

function CreateShareForm({ services, onCreated }: { services: ServiceView[]; onCreated: () => void }) {
  const { api } = useWorkspace();
  const { notice, isPending, run } = useAction();
  const [name, setName] = useState("");
  const [expires, setExpires] = useState(String(7 * 86_400));
  const [chosen, setChosen] = useState<string[]>([]);
  const [rateLimit, setRateLimit] = useState("");
  const [created, setCreated] = useState<CreatedShare>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setCreated(undefined);
    const result = await run(
      () =>
        api.shares.create.mutate({
          name,
          expiresInSeconds: Number(expires),
          services: chosen.length === 0 ? undefined : chosen,
          rateLimitPerMinute: rateLimit === "" ? undefined : Number(rateLimit),
        }),
      (share) => `Share ${share.name} created for ${share.services.join(", ")}. Copy its code now: it is not shown again.`,
    );
    if (result === undefined) return;
    setCreated(result);
    setName("");
    setChosen([]);
    setRateLimit("");
    onCreated();
  }

  return (
    <>
      <form className="form" onSubmit={submit} aria-labelledby="create-share-heading">
        <h2 id="create-share-heading">Create a share</h2>
        <label htmlFor="share-name">Name</label>
        <input
          id="share-name"
          type="text"
          required
          maxLength={64}
          value={name}
          onChange={(event) => setName(event.target.value)}
          placeholder="acme-contractor"
        />
        <label htmlFor="share-expires">Expires after</label>
        <select id="share-expires" value={expires} onChange={(event) => setExpires(event.target.value)}>
          {EXPIRY_CHOICES.map((choice) => (
            <option key={choice.seconds} value={choice.seconds}>
              {choice.label}
            </option>
          ))}
        </select>
        <fieldset>
          <legend>Services</legend>
          {services.length === 0 ? (
            <p className="hint">No service is exposed yet: expose one with connect expose first.</p>
          ) : (
            <div className="checkbox-row">
              {services.map((service) => (
                <label key={service.id}>
                  <input
                    type="checkbox"
                    name="services"
                    value={service.name}
                    checked={chosen.includes(service.name)}
                    onChange={(event) =>
                      setChosen((previous) =>
                        event.target.checked ? [...previous, service.name] : previous.filter((item) => item !== service.name),
                      )
                    }
                  />
                  {service.name}
                </label>
              ))}
            </div>
          )}
          <p className="hint">None ticked: every service exposed right now (services exposed later are not added).</p>
        </fieldset>
        <label htmlFor="share-rate">Rate limit (new connections per minute, optional)</label>
        <input
          id="share-rate"
          type="number"
          min={1}
          max={100000}
          inputMode="numeric"
          value={rateLimit}
          onChange={(event) => setRateLimit(event.target.value)}
        />
        <button className="button" type="submit" disabled={isPending}>
          {isPending ? "Creating…" : "Create share"}
        </button>
        <Notice notice={notice} />
      </form>
      {created !== undefined && (
        <RevealedSecret
          title={`Code of share ${created.name}`}
          value={created.code}
          hint={`Give it to the other workspace: on one of their agents, connect join ${created.code}. Expires ${formatTime(created.expiresAt)}.`}
        />
      )}
    </>
  );
}

function ShareTable({ shares, onRevoked }: { shares: ShareView[]; onRevoked: () => void }) {
  const { now } = useWorkspace();
  return (
    <table className="table" data-testid="shares-table">
      <TableHead columns={["Share", "Services", "Status", "Joined by", "Uses"]} />
      <tbody>
        {shares.map((share) => (
          <tr key={share.id} data-share={share.name}>
            <td data-label="Share">
              {/* Codes from before keyed hashes keep no hint at all (any part of them would leave too little to guess). */}
              {share.name} <code className="muted">{share.codeHint === "" ? "…" : `${share.codeHint}-…`}</code>
            </td>
            <td data-label="Services">{share.services.join(", ")}</td>
            <td data-label="Status">
              <GrantStatus status={share.status} expiresAt={share.expiresAt} revokedAt={share.revokedAt} now={now} />
            </td>
            <td data-label="Joined by">
              {share.joiners.length === 0
                ? "nobody yet"
                : share.joiners.map((joiner) => (
                    <div key={`${joiner.agentLabel}-${joiner.joinedAt}`}>
                      {joiner.agentLabel}{" "}
                      <span className="hint">
                        ({joiner.useCount} use{joiner.useCount === 1 ? "" : "s"}, joined {formatRelative(joiner.joinedAt, now)})
                      </span>
                    </div>
                  ))}
            </td>
            <td data-label="Uses">
              {share.useCount}
              {share.rateLimitPerMinute !== null && <span className="hint"> (max {share.rateLimitPerMinute}/min)</span>}
            </td>
            <td data-label="Actions">
              <RevokeButton
                what={`share ${share.name}`}
                isRevocable={share.status === "active"}
                revoke={(api) => api.shares.revoke.mutate({ id: share.id })}
                onDone={onRevoked}
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
