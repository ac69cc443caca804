import { isWithinPathPrefix, type LinkPathProblem, normalizeLinkPath, splitPathPrefix } from "@private-connect/api";

export type PathDecision =
  | {
      kind: "allowed";
      /** The normalized path, as checked: what the audit log records. */
      path: string;
      /** What the service is sent: the normalized path plus the request's own query string. */
      forwardTarget: string;
    }
  | { kind: "refused"; status: 400 | 403; message: string };

const REFUSAL_STATUS: Record<LinkPathProblem, 400 | 403> = {
  malformed: 400,
  "encoded-separator": 403,
  "disguised-dot-segment": 403,
  "overlong-utf8": 403,
};

/**
 * Judges the request target of a link request (for the path form, after `/l/<slug>` was taken
 * off) against the link's path prefixes. The path is normalized by the same function that
 * normalized the prefixes at creation (packages/api normalizeLinkPath), compared on whole
 * segments, and it is that normalized path, never the raw one, that goes on to the service: what
 * was checked is what is served. The query string passes unchanged.
 */
export function checkRequestPath(target: string, allowedPrefixes: readonly string[]): PathDecision {
  const queryStart = target.indexOf("?");
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? "" : target.slice(queryStart);
  const normalized = normalizeLinkPath(rawPath);
  if (!normalized.ok) {
    const status = REFUSAL_STATUS[normalized.problem];
    const lead = status === 400 ? "Bad request" : "Forbidden";
    return { kind: "refused", status, message: `${lead}: ${normalized.detail}.` };
  }
  const isAllowed =
    allowedPrefixes.length === 0 ||
    allowedPrefixes.some((prefix) => isWithinPathPrefix(normalized.segments, splitPathPrefix(prefix)));
  if (!isAllowed) {
    // Which prefixes are allowed is the owner's business, not the visitor's.
    return { kind: "refused", status: 403, message: "Forbidden: this link does not serve this path." };
  }
  return { kind: "allowed", path: normalized.canonical, forwardTarget: `${normalized.canonical}${query}` };
}
