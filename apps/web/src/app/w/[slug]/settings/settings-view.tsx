"use client";

import type { WorkspaceE2ePolicy, WorkspaceView } from "@private-connect/api";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Notice, useAction } from "@/components/notice";
import { useWorkspace, workspaceKey } from "@/components/workspace-context";
import { describeE2ePolicy } from "@/lib/e2e";

const POLICY_CHOICES: { policy: WorkspaceE2ePolicy; label: string; explanation: string }[] = [
  {
    policy: "preferred",
    label: "Preferred",
    explanation:
      "Streams between agents are end-to-end encrypted whenever both agents can; a service exposed with --e2e off, and public links, stay readable by the hub.",
  },
  {
    policy: "required",
    label: "Required",
    explanation:
      "Every service of this workspace is end-to-end encrypted, whatever its agent asked for: an agent that cannot encrypt is refused, nothing is ever relayed in plaintext, and no service can have a public link (the hub must read a link's HTTP).",
  },
];

export function SettingsView({ initial }: { initial: WorkspaceView }) {
  const { api, workspace } = useWorkspace();
  const settingsKey = workspaceKey(workspace.id, "settings");
  const settings =
    useQuery({ queryKey: settingsKey, queryFn: () => api.workspaces.get.query(), initialData: initial }).data ?? initial;
  const isOwner = workspace.role === "owner";

  return (
    <>
      <h1>Settings</h1>
      <p className="lede">How {workspace.name} treats the traffic of its services.</p>
      {isOwner ? (
        <E2ePolicyForm current={settings.e2ePolicy} />
      ) : (
        <section aria-labelledby="e2e-heading">
          <h2 id="e2e-heading">End-to-end encryption</h2>
          <p data-testid="workspace-e2e-policy">
            This workspace's policy is <strong>{settings.e2ePolicy}</strong>: {describeE2ePolicy(settings.e2ePolicy)}
          </p>
          <p className="notice notice-warning">Only owners change it: ask an owner of {workspace.name}.</p>
        </section>
      )}
    </>
  );
}

function E2ePolicyForm({ current }: { current: WorkspaceE2ePolicy }) {
  const { api, workspace } = useWorkspace();
  const queryClient = useQueryClient();
  const { notice, isPending, run } = useAction();
  const [policy, setPolicy] = useState<WorkspaceE2ePolicy>(current);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await run(
      () => api.workspaces.setE2ePolicy.mutate({ policy }),
      (updated) =>
        updated.e2ePolicy === "required"
          ? "End-to-end encryption is now required for every service of this workspace, from each stream's next open."
          : "End-to-end encryption is now preferred: each service's own --e2e setting applies again.",
    );
    // The services' effective policies changed with it: refetch everything this workspace shows.
    if (result !== undefined) void queryClient.invalidateQueries({ queryKey: workspaceKey(workspace.id) });
  }

  return (
    <form className="form" onSubmit={submit} aria-labelledby="e2e-heading">
      <h2 id="e2e-heading">End-to-end encryption</h2>
      <p className="hint">
        With end-to-end encryption the two agents of a stream run a handshake with each other's keys, and the hub relays only
        ciphertext it cannot read or alter. Each agent pins the keys of the agents it talks to and refuses a key that changed
        until someone runs connect trust on it.
      </p>
      <fieldset>
        <legend>Policy for every service of {workspace.name}</legend>
        {POLICY_CHOICES.map((choice) => (
          <div key={choice.policy} className="checkbox-row">
            <label>
              <input
                type="radio"
                name="e2e-policy"
                value={choice.policy}
                checked={policy === choice.policy}
                onChange={() => setPolicy(choice.policy)}
              />
              {choice.label}
            </label>
            <span className="hint">{choice.explanation}</span>
          </div>
        ))}
      </fieldset>
      <button className="button" type="submit" disabled={isPending || policy === current}>
        {isPending ? "Saving…" : "Save"}
      </button>
      <Notice notice={notice} />
    </form>
  );
}
