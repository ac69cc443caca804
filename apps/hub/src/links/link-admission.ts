import type { IncomingMessage } from "node:http";
import {
  type ApiDeps,
  describeNetwork,
  isAppError,
  PUBLIC_LINK_SERVICE_GONE,
  type RateLimiter,
  type ResolvedLink,
  resolveLinkForRequest,
} from "@private-connect/api";
import type { LinkSummary } from "./access-records.js";
import type { LinkTarget } from "./link-routing.js";
import { findForbiddenOverride } from "./method-override.js";
import { checkRequestPath, type PathDecision } from "./path-policy.js";

export type LinkRefusal = {
  kind: "refused";
  status: number;
  message: string;
  headers?: Record<string, string>;
  /** Set when the refusal concerns an existing link, so it can be recorded. */
  link?: LinkSummary;
  /** Refusals that cost nothing to repeat (429) are not recorded: a flood must not write. */
  isRecorded?: boolean;
};

export type LinkAdmitted = {
  kind: "admitted";
  link: ResolvedLink;
  route: { agentId: string; serviceName: string };
  /** The request's path as recorded (normalized, no query). */
  path: string;
  /** The request target sent to the service. */
  forwardTarget: string;
};

export type Admission = LinkRefusal | LinkAdmitted;

export interface LinkAdmission {
  /**
   * Decides whether a visitor's request goes through to the service, in order: the link
   * (unknown or revoked 404, expired 410), the method (405 with Allow, a method override in a
   * POST included), the path (403, or 400 when malformed), the visitor's rate (429 with
   * Retry-After; 503 when the shared limit cannot be reached), the service (502 when the link's
   * service is no longer exposed). Rejects when the database cannot be read.
   */
  admit(target: LinkTarget, req: IncomingMessage, ip: string): Promise<Admission>;
}

const RATE_WINDOW_MS = 60_000;

/** The checks of a request against its link that need nothing but the two: methods and paths. */
export function checkLinkRequest(
  link: Pick<ResolvedLink, "methods" | "paths">,
  method: string,
  rawHeaders: readonly string[],
  target: string,
): LinkRefusal | Extract<PathDecision, { kind: "allowed" }> {
  if (link.methods.length > 0 && !link.methods.includes(method)) {
    return {
      kind: "refused",
      status: 405,
      message: `Method not allowed: this link accepts ${link.methods.join(", ")}.`,
      headers: { allow: link.methods.join(", ") },
    };
  }
  // A POST that the service would run as a DELETE is a DELETE.
  const override = findForbiddenOverride(rawHeaders, target, link.methods);
  if (override !== undefined) {
    return {
      kind: "refused",
      status: 405,
      message: `Method not allowed: this link accepts ${link.methods.join(", ")}, and ${override.source} asks for ${override.method}.`,
      headers: { allow: link.methods.join(", ") },
    };
  }
  return checkRequestPath(target, link.paths);
}

/**
 * `rateLimiter` counts each link's visitors per address: in memory on one hub, shared through
 * Redis in a cluster so the limit holds across hubs.
 */
export function createLinkAdmission(options: { deps: ApiDeps; rateLimiter: RateLimiter; now: () => number }): LinkAdmission {
  const { deps, rateLimiter, now } = options;

  /** A 429 when the visitor used up the link's budget, a 503 when the budget cannot be read. */
  async function takeRate(link: ResolvedLink, limitPerMinute: number, ip: string): Promise<LinkRefusal | undefined> {
    try {
      const limit = await rateLimiter.take(
        [{ key: `${link.id} ${describeNetwork(ip)}`, rule: { limit: limitPerMinute, windowMs: RATE_WINDOW_MS } }],
        now(),
      );
      if (limit.isAllowed) return undefined;
      const seconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
      return {
        kind: "refused",
        status: 429,
        message: `Too many requests: this link allows ${limitPerMinute} per minute from one address. Try again in ${seconds} s.`,
        headers: { "retry-after": String(seconds) },
        link,
        isRecorded: false,
      };
    } catch (error) {
      // The shared store (Redis) is unreachable: refuse rather than serve unlimited, and do not
      // record, since while it lasts every request of a flood would be a database write.
      if (isAppError(error) && error.code === "UNAVAILABLE") {
        return { kind: "refused", status: 503, message: error.message, link, isRecorded: false };
      }
      throw error;
    }
  }

  return {
    async admit(target, req, ip) {
      const resolution = await resolveLinkForRequest(deps, target.slug);
      if (resolution.kind === "refused") {
        return { kind: "refused", status: resolution.status, message: resolution.message, link: resolution.link };
      }
      const { link } = resolution;
      const checked = checkLinkRequest(link, req.method ?? "GET", req.rawHeaders, target.target);
      if (checked.kind === "refused") return { ...checked, link };
      if (link.rateLimitPerMinute !== null) {
        const limited = await takeRate(link, link.rateLimitPerMinute, ip);
        if (limited !== undefined) return limited;
      }
      if (link.route === undefined) return { kind: "refused", status: 502, message: PUBLIC_LINK_SERVICE_GONE, link };
      return { kind: "admitted", link, route: link.route, path: checked.path, forwardTarget: checked.forwardTarget };
    },
  };
}
