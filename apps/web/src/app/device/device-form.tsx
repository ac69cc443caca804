"use client";

import { type FormEvent, useState } from "react";
import { Notice, useAction } from "@/components/notice";
import { createApiClient } from "@/lib/api-client";

export function DeviceForm({ initialCode, workspaces }: { initialCode: string; workspaces: { id: string; name: string }[] }) {
  const [code, setCode] = useState(initialCode);
  const [workspaceId, setWorkspaceId] = useState(workspaces[0]?.id ?? "");
  const [decided, setDecided] = useState(false);
  const { notice, isPending, run } = useAction();

  async function decide(decision: "approve" | "deny") {
    const api = createApiClient(workspaceId);
    const workspaceName = workspaces.find((workspace) => workspace.id === workspaceId)?.name ?? "the workspace";
    const result = await run(
      () => (decision === "approve" ? api.deviceAuth.approve : api.deviceAuth.deny).mutate({ userCode: code }),
      (outcome) =>
        outcome.status === "approved"
          ? `Approved: ${outcome.label} is now an agent of ${workspaceName}. On that machine, start it with connect up.`
          : `Denied: ${outcome.label} was not let in.`,
    );
    if (result !== undefined) setDecided(true);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void decide("approve");
  }

  return (
    <form className="form" onSubmit={submit}>
      <label htmlFor="device-code">Code shown by connect login</label>
      <input
        id="device-code"
        type="text"
        required
        autoComplete="off"
        autoCapitalize="characters"
        spellCheck={false}
        value={code}
        onChange={(event) => setCode(event.target.value)}
        placeholder="ABCD-EFGH"
      />
      {workspaces.length > 1 && (
        <>
          <label htmlFor="device-workspace">Workspace it joins</label>
          <select id="device-workspace" value={workspaceId} onChange={(event) => setWorkspaceId(event.target.value)}>
            {workspaces.map((workspace) => (
              <option key={workspace.id} value={workspace.id}>
                {workspace.name}
              </option>
            ))}
          </select>
        </>
      )}
      <div className="actions">
        <button className="button" type="submit" disabled={isPending || decided}>
          Approve
        </button>
        <button className="button button-danger" type="button" disabled={isPending || decided} onClick={() => decide("deny")}>
          Deny
        </button>
      </div>
      <Notice notice={notice} />
    </form>
  );
}
