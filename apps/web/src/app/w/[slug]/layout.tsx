import type { ReactNode } from "react";
import { AppShell } from "@/components/app-shell";
import { WorkspaceProvider } from "@/components/workspace-context";
import { readWebEnv } from "@/env";
import { readWorkspace } from "@/lib/server/hub-api";

export default async function WorkspaceLayout({ children, params }: { children: ReactNode; params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const workspace = await readWorkspace(slug);
  const info = {
    id: workspace.id,
    name: workspace.name,
    slug: workspace.slug,
    role: workspace.role,
    hubUrl: readWebEnv().PUBLIC_HUB_URL,
  };
  return (
    <WorkspaceProvider workspace={info} serverNow={Date.now()}>
      <AppShell
        email={workspace.user.email}
        current={{ slug: workspace.slug, name: workspace.name, role: workspace.role }}
        workspaces={workspace.workspaces.map(({ slug: s, name }) => ({ slug: s, name }))}
      >
        {children}
      </AppShell>
    </WorkspaceProvider>
  );
}
