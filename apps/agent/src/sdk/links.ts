import type { CreatedLink, CreateLinkInput, LinkView, RevokedLink } from "@private-connect/api";
import { ConnectError } from "../errors.js";
import { callHub, type HubClient } from "./hub-client.js";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** `GET,head` -> ["GET", "HEAD"]; the hub checks the names themselves. */
export function parseLinkMethods(text: string): string[] {
  const methods = splitList(text).map((method) => method.toUpperCase());
  if (methods.length === 0) {
    throw new ConnectError("INVALID_INPUT", "--methods takes comma-separated HTTP methods, for example --methods GET,HEAD");
  }
  return methods;
}

/** `/api/v1,/health` -> ["/api/v1", "/health"]; each must start with / (the hub normalizes them). */
export function parseLinkPaths(text: string): string[] {
  const paths = splitList(text);
  if (paths.length === 0) {
    throw new ConnectError("INVALID_INPUT", "--paths takes comma-separated path prefixes, for example --paths /api/v1,/health");
  }
  const relative = paths.find((path) => !path.startsWith("/"));
  if (relative !== undefined) {
    throw new ConnectError("INVALID_INPUT", `--paths prefixes start with /, for example /api/v1: got "${relative}"`);
  }
  return paths;
}

/** What `connect link revoke` takes: an id from the list, or the link's slug or URL as printed. */
export function linkRevocationInput(text: string): { id: string } | { slug: string } {
  const trimmed = text.trim();
  if (trimmed === "")
    throw new ConnectError(
      "INVALID_INPUT",
      "connect link revoke takes the link's URL, slug or id (connect link list shows them)",
    );
  return UUID_PATTERN.test(trimmed) ? { id: trimmed } : { slug: trimmed };
}

/**
 * A public link to one of the workspace's services. The URL in the result is shown once: the hub
 * keeps only its hash. `client` is a hub client with an agent token or API key.
 */
export function createLink(client: HubClient, hubUrl: string, input: CreateLinkInput): Promise<CreatedLink> {
  return callHub(hubUrl, () => client.links.create.mutate(input));
}

/** The workspace's links, newest first, with hints (never URLs), status and access counts. */
export function listLinks(client: HubClient, hubUrl: string): Promise<LinkView[]> {
  return callHub(hubUrl, () => client.links.list.query());
}

/** Revokes a link by URL, slug or id; the hub cuts its requests in flight. */
export function revokeLink(client: HubClient, hubUrl: string, urlSlugOrId: string): Promise<RevokedLink> {
  const input = linkRevocationInput(urlSlugOrId);
  return callHub(hubUrl, () => client.links.revoke.mutate(input));
}
