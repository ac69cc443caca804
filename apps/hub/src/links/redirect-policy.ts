// Where a path-form link's redirects may lead. The service believes it is served at the root,
// so a redirect it sends names a place in its own space: the hub maps that place under
// `/l/<slug>`. A redirect to another host would make the hub's origin an open redirect
// (`https://hub.example.com/l/<slug>/login?next=//evil.example` sending visitors anywhere),
// so it is refused. The host form is an origin of its own and passes redirects unchanged.

export interface RedirectContext {
  /** `/l/<slug>`. */
  pathFormPrefix: string;
  /** The hub's origin as the visitor reached it (`http://127.0.0.1:8080`); undefined without a Host. */
  visitorOrigin: string | undefined;
  /** The path (and query) the service was asked for: relative redirects resolve against it. */
  servicePath: string;
}

export type RedirectDecision = { kind: "rewritten"; value: string } | { kind: "refused" };

/** A host no visitor can name: with no Host header, every absolute redirect is foreign. */
const UNKNOWN_ORIGIN = "http://unknown-host.invalid";

/**
 * Maps a Location (or a Refresh URL) the service sent into the link. It is resolved the way a
 * browser resolves it (the WHATWG parser: backslashes as slashes, tabs and newlines dropped,
 * `..` and `%2e%2e` resolved) against the service's own URL; when that stays on the hub's host
 * it becomes `/l/<slug>` + the resolved path, otherwise the redirect is refused.
 */
export function mapRedirectIntoLink(location: string, context: RedirectContext): RedirectDecision {
  let base: URL;
  try {
    base = new URL(context.servicePath, context.visitorOrigin ?? UNKNOWN_ORIGIN);
  } catch {
    base = new URL(context.servicePath, UNKNOWN_ORIGIN);
  }
  let resolved: URL;
  try {
    resolved = new URL(location, base);
  } catch {
    // Not a URL a browser could follow either: nothing to redirect to, so nothing to leave by.
    return { kind: "refused" };
  }
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:") return { kind: "refused" };
  if (resolved.host !== base.host) return { kind: "refused" };
  const inLink = `${context.pathFormPrefix}${resolved.pathname}${resolved.search}${resolved.hash}`;
  // Same host, other scheme (a service upgrading to https): keep the scheme, absolute.
  return {
    kind: "rewritten",
    value: resolved.protocol === base.protocol ? inLink : `${resolved.protocol}//${resolved.host}${inLink}`,
  };
}

/** `Refresh: 5; url=/next`: the delay, and the URL if there is one (quotes dropped). */
const REFRESH = /^(\s*[\d.]*\s*)(?:[;,]\s*(?:url\s*=\s*)?(['"]?)(.*?)\2\s*)?$/i;

/** The same mapping for a Refresh header, which browsers follow like a redirect. */
export function mapRefreshIntoLink(refresh: string, context: RedirectContext): RedirectDecision {
  const match = REFRESH.exec(refresh);
  // Unparsable: browsers ignore such a header, and so may the visitor; refusing costs nothing.
  if (match === null) return { kind: "refused" };
  const delay = match[1]?.trim() ?? "";
  const url = match[3];
  if (url === undefined || url === "") return { kind: "rewritten", value: refresh };
  const mapped = mapRedirectIntoLink(url, context);
  return mapped.kind === "refused" ? mapped : { kind: "rewritten", value: `${delay}; url=${mapped.value}` };
}
