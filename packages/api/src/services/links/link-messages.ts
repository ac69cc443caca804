import { AppError } from "../../errors.js";

/** For the link's owner: another workspace's link, a typo and a link that never existed read the same. */
export const LINK_NOT_FOUND = "Link not found: check the slug or URL (connect link list shows this workspace's links)";

export function linkNotFound(): AppError {
  return new AppError("NOT_FOUND", LINK_NOT_FOUND);
}

// For visitors of a public link. Unknown and revoked read the same, so a revoked URL tells its
// holder nothing about whether it ever worked.
export const PUBLIC_LINK_NOT_FOUND = "Link not found: this address is unknown or the link was revoked.";
export const PUBLIC_LINK_EXPIRED = "This link has expired: ask whoever shared it for a new one.";
export const PUBLIC_LINK_SERVICE_GONE =
  "The service behind this link is not available: its owner no longer exposes it. Try again later.";
