"use client";

import type { AgentListItem, ApiKeyView, CreatedApiKey } from "@private-connect/api";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { CommandLine, RevealedSecret } from "@/components/copy-button";
import { EmptyState } from "@/components/empty-state";
import { Notice, useAction } from "@/components/notice";
import { RevokeButton } from "@/components/revoke-button";
import { TableHead } from "@/components/table-head";
import { useWorkspace, workspaceKey } from "@/components/workspace-context";
import { formatRelative, formatTime } from "@/lib/format";
import { useAgents } from "@/lib/queries";

export function ApiKeysView({ initial }: { initial: ApiKeyView[] | null }) {
  const { api, workspace } = useWorkspace();
  const queryClient = useQueryClient();
  const keysKey = workspaceKey(workspace.id, "api-keys");
  const keys = useQuery({
    queryKey: keysKey,
    queryFn: () => api.apiKeys.list.query(),
    initialData: initial ?? undefined,
    enabled: initial !== null,
  }).data;
  const refresh = () => queryClient.invalidateQueries({ queryKey: keysKey });
  const [revoked, setRevoked] = useState<string>();

  if (initial === null) {
    return (
      <>
        <h1>API keys</h1>
        <EmptyState title="Only owners manage API keys">
          <p>Ask an owner of {workspace.name} for a key, or to make you an owner on the Members page.</p>
        </EmptyState>
      </>
    );
  }

  return (
    <>
      <h1>API keys</h1>
      <p className="lede">
        An API key acts for the whole workspace: agents register with it (connect up --api-key), scripts call the API with it. It
        is shown once and stored only as a hash.
      </p>
      <CreateKeyForm onCreated={refresh} />
      <h2>Keys</h2>
      <Notice notice={revoked === undefined ? undefined : { kind: "success", text: revoked }} />
      {keys === undefined || keys.length === 0 ? (
        <EmptyState title="No API keys">
          <p>Create one above to start agents in this workspace.</p>
        </EmptyState>
      ) : (
        <KeyTable
          keys={keys}
          onRevoked={(message) => {
            setRevoked(message);
            void refresh();
          }}
        />
      )}
    </>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: () => void }) {
  const { api, workspace } = useWorkspace();
  const { notice, isPending, run } = useAction();
  const [name, setName] = useState("");
  // The new key lives in this component's state only: gone on reload, never stored in the browser.
  const [created, setCreated] = useState<CreatedApiKey>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setCreated(undefined);
    const result = await run(
      () => api.apiKeys.create.mutate({ name }),
      (key) => `API key ${key.name} created. Copy it now: it is not shown again.`,
    );
    if (result === undefined) return;
    setCreated(result);
    setName("");
    onCreated();
  }

  return (
    <>
      <form className="form" onSubmit={submit} aria-labelledby="create-key-heading">
        <h2 id="create-key-heading">Create an API key</h2>
        <label htmlFor="key-name">Name (where it will be used)</label>
        <input
          id="key-name"
          type="text"
          required
          maxLength={64}
          value={name}
          onChange={(event) => setName(event.target.value)}
          placeholder="ci"
        />
        <button className="button" type="submit" disabled={isPending}>
          {isPending ? "Creating…" : "Create key"}
        </button>
        <Notice notice={notice} />
      </form>
      {created !== undefined && (
        <>
          <RevealedSecret
            title={`API key ${created.name}`}
            value={created.key}
            hint="Store it in your password manager or CI secrets now: only its hash is kept, it cannot be shown again."
          />
          <p>Start an agent with it:</p>
          <CommandLine
            command={`connect up --hub ${workspace.hubUrl} --api-key ${created.key} --label server`}
            label="Start an agent with the new key"
          />
        </>
      )}
    </>
  );
}

function KeyTable({ keys, onRevoked }: { keys: ApiKeyView[]; onRevoked: (message: string) => void }) {
  const { now } = useWorkspace();
  // Which agents each key let in: revoking the key revokes them too, unless the owner keeps them.
  const agents = useAgents().data;
  return (
    <table className="table" data-testid="api-keys-table">
      <TableHead columns={["Name", "Prefix", "Created", "Last used"]} />
      <tbody>
        {keys.map((key) => (
          <tr key={key.id} data-key={key.name}>
            <td data-label="Name">{key.name}</td>
            <td data-label="Prefix">
              <code>{key.prefix}…</code>
            </td>
            <td data-label="Created" title={formatTime(key.createdAt)}>
              {formatRelative(key.createdAt, now)}
            </td>
            <td data-label="Last used">{key.lastUsedAt === null ? "never" : formatRelative(key.lastUsedAt, now)}</td>
            <td data-label="Actions">
              <RevokeKey
                apiKey={key}
                agents={agents?.filter(
                  (agent) =>
                    (agent.createdBy.type === "api_key" || agent.createdBy.type === "provisioning_key") &&
                    agent.createdBy.id === key.id,
                )}
                onRevoked={onRevoked}
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Revoking a key revokes the agents it registered or provisioned (their connections close at
 * once), unless the owner keeps them: the confirmation lists them first, with that choice.
 */
function RevokeKey({
  apiKey,
  agents,
  onRevoked,
}: {
  apiKey: ApiKeyView;
  /** Undefined while the agents list is loading (or could not be read): the choice is offered anyway. */
  agents: AgentListItem[] | undefined;
  onRevoked: (message: string) => void;
}) {
  const [isKeepingAgents, setIsKeepingAgents] = useState(false);
  const checkboxId = `keep-agents-${apiKey.id}`;
  const labels = new Map((agents ?? []).map((agent) => [agent.agentId, agent.label]));
  const keepLabel =
    agents === undefined
      ? "Keep the agents it registered working"
      : `Keep ${agents.length === 1 ? "this agent" : `these ${agents.length} agents`} working`;
  return (
    <RevokeButton
      what={`key ${apiKey.name}`}
      isRevocable
      revoke={(api) => api.apiKeys.revoke.mutate({ id: apiKey.id, keepAgents: isKeepingAgents })}
      onDone={onRevoked}
      done={(result) => {
        const revokedAgents = result.revokedAgentIds.map((id) => labels.get(id) ?? id);
        if (revokedAgents.length > 0) {
          return `Revoked key ${apiKey.name} and the ${revokedAgents.length === 1 ? "agent" : `${revokedAgents.length} agents`} it registered (${revokedAgents.join(", ")}): their connections are closed.`;
        }
        return isKeepingAgents && agents?.length !== 0
          ? `Revoked key ${apiKey.name}: it stops working with its next request; the agents it registered keep working.`
          : `Revoked key ${apiKey.name}: it stops working with its next request.`;
      }}
      confirmation={
        agents?.length === 0 ? (
          <p className="hint">No agent registered with this key is still active.</p>
        ) : (
          <div className="key-agents" data-testid="key-agents">
            <p className="hint">
              {agents === undefined
                ? "The agents registered with this key are revoked with it unless you keep them."
                : `Agents registered with this key, revoked with it unless you keep them: ${agents.map((agent) => agent.label).join(", ")}`}
            </p>
            <label htmlFor={checkboxId}>
              <input
                id={checkboxId}
                type="checkbox"
                checked={isKeepingAgents}
                onChange={(event) => setIsKeepingAgents(event.target.checked)}
              />{" "}
              {keepLabel}
            </label>
          </div>
        )
      }
    />
  );
}
