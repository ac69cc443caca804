import type { AppRouter } from "@private-connect/api";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { cookies, headers as requestHeaders } from "next/headers";
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import { readWebEnv } from "@/env";
import { describeVisitor, proxyTargetFrom, visitorHeaders } from "./hub-proxy";

export type HubClient = ReturnType<typeof createTRPCClient<AppRouter>>;

const SESSION_COOKIE = "pc_session";

/**
 * The hub's API as the signed-in browser that sent this request, for server components: the
 * session cookie goes along, and `workspaceId` becomes x-pc-workspace. Reads only: a session
 * the hub renews here cannot pass its new cookie on, which the browser's next /trpc call does.
 * The visitor's address goes along as on /trpc, so the hub records who read, not this server.
 */
export async function hubAs(workspaceId?: string): Promise<HubClient> {
  const session = (await cookies()).get(SESSION_COOKIE)?.value;
  const target = proxyTargetFrom(readWebEnv());
  const headers = visitorHeaders(describeVisitor(await requestHeaders(), target.trustedProxies), target);
  if (session !== undefined) headers.cookie = `${SESSION_COOKIE}=${session}`;
  if (workspaceId !== undefined) headers["x-pc-workspace"] = workspaceId;
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${target.hubUrl}/trpc`, headers })],
  });
}

function codeOf(error: unknown): string | undefined {
  return error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined;
}

/**
 * A read that a page cannot do without: "not found" (another workspace's id, a name that does
 * not exist) renders the 404 page, a missing or dead session goes to sign-in, and anything else
 * reaches the error boundary with the hub's message.
 */
export async function readOrNotFound<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (error) {
    const code = codeOf(error);
    if (code === "NOT_FOUND") notFound();
    if (code === "UNAUTHORIZED") redirect("/sign-in");
    throw error;
  }
}

/** Like readOrNotFound, for a part of a page a member may be refused (FORBIDDEN): null then. */
export async function readIfAllowed<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await readOrNotFound(read);
  } catch (error) {
    if (codeOf(error) === "FORBIDDEN") return null;
    throw error;
  }
}

export interface SignedIn {
  user: { id: string; email: string };
  workspaces: { id: string; name: string; slug: string; role: "owner" | "member" }[];
}

/** The signed-in user and their workspaces, once per request; undefined when signed out. */
export const readSignedInUser = cache(async (): Promise<SignedIn | undefined> => {
  const session = (await cookies()).get(SESSION_COOKIE)?.value;
  if (session === undefined) return undefined;
  try {
    return await (await hubAs()).auth.me.query();
  } catch (error) {
    const code = codeOf(error);
    if (code === "UNAUTHORIZED" || code === "FORBIDDEN") return undefined;
    throw error;
  }
});

/** The signed-in user, or a redirect to sign-in (coming back to `next` afterwards). */
export async function requireSignedInUser(next?: string): Promise<SignedIn> {
  const signedIn = await readSignedInUser();
  if (signedIn === undefined) redirect(next === undefined ? "/sign-in" : `/sign-in?next=${encodeURIComponent(next)}`);
  return signedIn;
}

/**
 * The workspace a /w/<slug> page is about. One the user does not belong to is a 404, exactly
 * like one that does not exist: the URL tells nothing about other people's workspaces.
 */
export const readWorkspace = cache(async (slug: string) => {
  const signedIn = await requireSignedInUser(`/w/${slug}`);
  const workspace = signedIn.workspaces.find((candidate) => candidate.slug === slug);
  if (workspace === undefined) notFound();
  return { ...workspace, user: signedIn.user, workspaces: signedIn.workspaces };
});
