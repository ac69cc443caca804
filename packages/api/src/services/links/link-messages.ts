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
export const PUBLIC_LINK_E2E_REQUIRED =
  "This link is closed: the service behind it now requires end-to-end encryption, which a public link cannot offer.";
export const PUBLIC_LINK_SERVICE_GONE =
  "The service behind this link is not available: its owner no longer exposes it. Try again later.";

// Public links are hub-terminated: the hub must read HTTP to apply methods and paths, so a service
// that requires end-to-end encryption cannot have one. Each message says what would allow it.
export function describeLinkRefusedByService(service: string): string {
  return `Service ${service} requires end-to-end encryption, and a public link is read by the hub (it applies methods and paths): give it a link only after exposing it with --e2e preferred (connect expose ... --name ${service} --e2e preferred)`;
}

export function describeLinkRefusedByWorkspace(service: string): string {
  return `Service ${service} requires end-to-end encryption because this workspace requires it for every service, and a public link is read by the hub (it applies methods and paths): no service of this workspace can have a link unless an owner sets the workspace's encryption policy to preferred in the dashboard's settings`;
}
