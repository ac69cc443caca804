"use client";

import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from "react";
import { type ApiClient, createApiClient, describeError, errorCodeOf } from "@/lib/api-client";

export interface WorkspaceInfo {
  id: string;
  name: string;
  slug: string;
  role: "owner" | "member";
  /** The hub URL agents use, for the commands the pages show. */
  hubUrl: string;
}

interface WorkspaceContextValue {
  workspace: WorkspaceInfo;
  api: ApiClient;
  /** Updated every 15 s, starting from the server's clock so the first render matches it. */
  now: number;
  /** Whether live updates are flowing (the subscription is open). */
  isLive: boolean;
  /**
   * Set when the hub ended the live updates because this tab's access went: the member was
   * removed (403) or the session signed out elsewhere (401). The message is the hub's.
   */
  accessEnded: AccessEnded | undefined;
}

export interface AccessEnded {
  message: string;
  /** 401: the session is gone, so the way back is signing in; otherwise another workspace. */
  isSignedOut: boolean;
}

const WorkspaceContext = createContext<WorkspaceContextValue | undefined>(undefined);

/** Query keys are per workspace, so switching workspaces never shows another one's cache. */
export function workspaceKey(workspaceId: string, ...rest: unknown[]): unknown[] {
  return ["workspace", workspaceId, ...rest];
}

export function WorkspaceProvider({
  workspace,
  serverNow,
  children,
}: {
  workspace: WorkspaceInfo;
  serverNow: number;
  children: ReactNode;
}) {
  const api = useMemo(() => createApiClient(workspace.id), [workspace.id]);
  const queryClient = useQueryClient();
  const [now, setNow] = useState(serverNow);
  const [isLive, setIsLive] = useState(false);
  const [accessEnded, setAccessEnded] = useState<AccessEnded>();

  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);

  // Live updates: agents going online or offline and services appearing or going away refetch
  // what shows them. "subscribed" comes first, and refetching then closes any gap between the
  // page's data and the stream.
  useEffect(() => {
    setAccessEnded(undefined);
    const subscription = api.events.workspace.subscribe(undefined, {
      onStarted: () => setIsLive(true),
      onData: () => {
        setIsLive(true);
        void queryClient.invalidateQueries({ queryKey: workspaceKey(workspace.id) });
      },
      onError: (error) => {
        setIsLive(false);
        // The subscription does not come back after these: without a word the page would just
        // freeze on stale data, so say why and where to go.
        const code = errorCodeOf(error);
        if (code === "FORBIDDEN" || code === "UNAUTHORIZED") {
          setAccessEnded({ message: describeError(error), isSignedOut: code === "UNAUTHORIZED" });
        }
      },
      onConnectionStateChange: (state) => setIsLive(state.state === "pending"),
    });
    return () => {
      subscription.unsubscribe();
      setIsLive(false);
    };
  }, [api, queryClient, workspace.id]);

  const value = useMemo(() => ({ workspace, api, now, isLive, accessEnded }), [workspace, api, now, isLive, accessEnded]);
  return <WorkspaceContext.Provider value={value}>{children}</WorkspaceContext.Provider>;
}

export function useWorkspace(): WorkspaceContextValue {
  const value = useContext(WorkspaceContext);
  if (value === undefined) throw new Error("useWorkspace must be used inside a WorkspaceProvider");
  return value;
}
