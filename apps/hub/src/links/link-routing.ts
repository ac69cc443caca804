import type { IncomingMessage } from "node:http";
import { isLinkSlug } from "@private-connect/api";

/** A request meant for a public link, before anything about the link is known. */
export interface LinkTarget {
  slug: string;
  /** "host": `<slug>.<LINK_DOMAIN>`, an origin of its own; "path": `/l/<slug>/...` on the hub's origin. */
  form: "host" | "path";
  /** The request target as the service should see it (path and query), not yet normalized. */
  target: string;
}

const PATH_FORM = /^\/l\/([A-Za-z2-7]{26})(?=[/?]|$)/;

/** The host name of a Host header, lower case, without port or trailing dot; undefined for an IP literal. */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header.startsWith("[")) return undefined;
  return header.split(":")[0]?.toLowerCase().replace(/\.$/, "");
}

/** The explicit port of a Host header (`a.localhost:3000` -> "3000"), or "" when it names none. */
function hostPort(header: string | undefined): string {
  return /:(\d{1,5})$/.exec(header ?? "")?.[1] ?? "";
}

/**
 * Tells link requests from the hub's own: Host `<slug>.<linkDomain>` (any path), or the path form
 * `/l/<slug>/...`. Only a slug-shaped first label makes a link host, so a hub whose own name
 * happens to sit under the link domain keeps its routes. `linkDomain` may carry a port, which is
 * ignored here (the port is the listener's business), except for one: a Host naming the
 * dashboard's own port (`<slug>.localhost:3000` when DASHBOARD_URL is http://127.0.0.1:3000) was
 * opened on the dashboard, and a link served there would share its origin's neighbourhood, so it
 * stays a dashboard request. A dashboard on the default port (no port in its URL) is not told
 * apart this way: LINK_DOMAIN then names a host of its own.
 */
export function createLinkMatcher(
  linkDomain: string,
  options: { dashboardUrl?: string | undefined } = {},
): (req: Pick<IncomingMessage, "url" | "headers">) => LinkTarget | undefined {
  const suffix = `.${hostName(linkDomain) ?? linkDomain}`;
  const dashboardPort = options.dashboardUrl === undefined ? "" : new URL(options.dashboardUrl).port;
  const isDashboardPort = (header: string | undefined) =>
    dashboardPort !== "" && dashboardPort !== hostPort(linkDomain) && hostPort(header) === dashboardPort;
  return (req) => {
    const url = req.url ?? "/";
    const host = hostName(req.headers.host);
    if (host?.endsWith(suffix) && !isDashboardPort(req.headers.host)) {
      const label = host.slice(0, -suffix.length);
      if (isLinkSlug(label)) return { slug: label, form: "host", target: url };
    }
    const match = PATH_FORM.exec(url);
    if (match?.[1] === undefined) return undefined;
    const rest = url.slice(match[0].length);
    return { slug: match[1].toLowerCase(), form: "path", target: rest.startsWith("/") ? rest : `/${rest}` };
  };
}
