"use client";

import { type FormEvent, useMemo, useState } from "react";
import { Notice, useAction } from "@/components/notice";
import { createApiClient } from "@/lib/api-client";

export function NewWorkspaceForm() {
  const api = useMemo(() => createApiClient(), []);
  const [name, setName] = useState("");
  const { notice, isPending, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const created = await run(
      () => api.workspaces.create.mutate({ name }),
      (workspace) => `Workspace ${workspace.name} created. Opening it…`,
    );
    if (created !== undefined) window.location.assign(`/w/${created.slug}`);
  }

  return (
    <form className="form" onSubmit={submit}>
      <label htmlFor="workspace-name">Name</label>
      <input
        id="workspace-name"
        type="text"
        required
        maxLength={128}
        value={name}
        onChange={(event) => setName(event.target.value)}
      />
      <button className="button" type="submit" disabled={isPending}>
        {isPending ? "Creating…" : "Create workspace"}
      </button>
      <Notice notice={notice} />
    </form>
  );
}
