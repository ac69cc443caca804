"use client";

import type { AgentListItem, ServiceTrafficView, ServiceView } from "@private-connect/api";
import { useQuery } from "@tanstack/react-query";
import { useWorkspace, workspaceKey } from "@/components/workspace-context";

// One hook per read the pages share, each seeded with what the server rendered so the first
// paint has data, then kept current by live events (which invalidate the workspace's keys).

export function useAgents(initialData?: AgentListItem[]) {
  const { api, workspace } = useWorkspace();
  return useQuery({ queryKey: workspaceKey(workspace.id, "agents"), queryFn: () => api.agents.list.query(), initialData });
}

export function useServices(initialData?: ServiceView[]) {
  const { api, workspace } = useWorkspace();
  return useQuery({ queryKey: workspaceKey(workspace.id, "services"), queryFn: () => api.services.list.query(), initialData });
}

/** Open connections and bytes are not evented (they change with every byte): polled instead. */
export function useTraffic(initialData?: ServiceTrafficView[]) {
  const { api, workspace } = useWorkspace();
  return useQuery({
    queryKey: workspaceKey(workspace.id, "traffic"),
    queryFn: () => api.services.traffic.query(),
    initialData,
    refetchInterval: 5_000,
  });
}
