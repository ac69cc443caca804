import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { BlockList } from "node:net";
import { isTrustedProxy, resolveForwardedClient, unmapIPv4 } from "@private-connect/trusted-proxies";

/** The header in which the dashboard proves it is the dashboard (FRONT_END_SECRET). */
export const FRONT_END_HEADER = "x-pc-front-end";

export interface TransportPolicy {
  isTlsServed: boolean;
  allowInsecure: boolean;
  /** Peers whose X-Forwarded-* headers are believed (TRUST_PROXY); empty: nobody's. */
  trustedProxies: BlockList;
  /** SHA-256 of FRONT_END_SECRET: a request carrying the secret comes from our own dashboard. */
  frontEndSecretHash: Buffer | undefined;
}

export function hashFrontEndSecret(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = unmapIPv4(address);
  return plain === "::1" || plain.startsWith("127.");
}

/**
 * What a request's front-end header says: absent, the dashboard's secret, or something else. A
 * constant-time comparison of digests, so the answer's timing tells nothing about the secret.
 */
export function readFrontEndClaim(
  request: IncomingMessage,
  policy: Pick<TransportPolicy, "frontEndSecretHash">,
): "none" | "valid" | "forged" {
  const claimed = firstHeader(request.headers[FRONT_END_HEADER]);
  if (claimed === undefined) return "none";
  if (policy.frontEndSecretHash === undefined) return "forged";
  return timingSafeEqual(hashFrontEndSecret(claimed), policy.frontEndSecretHash) ? "valid" : "forged";
}

/**
 * Whether this request's X-Forwarded-* headers are evidence: it comes from our dashboard (which
 * replaces whatever the browser sent with what it saw itself), or straight from a listed proxy.
 */
function isForwardingTrusted(request: IncomingMessage, policy: TransportPolicy): boolean {
  return readFrontEndClaim(request, policy) === "valid" || isTrustedProxy(request.socket?.remoteAddress, policy.trustedProxies);
}

/** The request comes from our own dashboard: it is a dashboard request, never a public link's. */
export function isFrontEndRequest(request: IncomingMessage, policy: Pick<TransportPolicy, "frontEndSecretHash">): boolean {
  return readFrontEndClaim(request, policy) === "valid";
}

/**
 * The client's address. From a trusted forwarder, X-Forwarded-For read from the right: each
 * listed proxy appended the address it saw, so the first entry that is not itself a listed proxy
 * is the client (everything further left is the client's own say). Otherwise the header is
 * ignored, since any client can send it.
 */
export function clientAddress(request: IncomingMessage, policy: TransportPolicy): string {
  // `socket` is null once a request's connection is gone; never let that become a crash.
  const peer = request.socket?.remoteAddress ?? "unknown";
  if (!isForwardingTrusted(request, policy)) return peer;
  const header = request.headers["x-forwarded-for"];
  return resolveForwardedClient(peer, Array.isArray(header) ? header.join(",") : (header ?? ""), policy.trustedProxies);
}

/** Whether the request reached us over TLS (directly, or at a trusted forwarder). */
export function isSecureRequest(request: IncomingMessage, policy: TransportPolicy): boolean {
  if (policy.isTlsServed) return true;
  if (!isForwardingTrusted(request, policy)) return false;
  return firstHeader(request.headers["x-forwarded-proto"])?.split(",")[0]?.trim() === "https";
}

/**
 * Plain HTTP is accepted only from this machine unless ALLOW_INSECURE is set: elsewhere the
 * tokens in it would cross the network in clear. "This machine" is the client as believed, so a
 * browser on another machine does not pass because the dashboard or a proxy in between is local.
 * Returns the refusal text, or undefined.
 */
export function refuseInsecureTransport(request: IncomingMessage, policy: TransportPolicy): string | undefined {
  if (policy.allowInsecure || isSecureRequest(request, policy)) return undefined;
  if (isLoopbackAddress(clientAddress(request, policy))) return undefined;
  return "This hub refuses plain HTTP from other machines: connect over https (TLS_CERT/TLS_KEY or a TLS proxy), or set ALLOW_INSECURE=true on a network you trust";
}

/**
 * Every refusal decided before routing: a request that claims to be the dashboard with the wrong
 * secret (an attacker, or a dashboard given a stale secret, which should hear about it rather than
 * quietly share one rate limit among all its users), then plain HTTP from elsewhere.
 */
export function refuseRequest(request: IncomingMessage, policy: TransportPolicy): string | undefined {
  if (readFrontEndClaim(request, policy) === "forged") {
    return "This request names itself the dashboard but its front-end secret is not this hub's: give the dashboard the hub's FRONT_END_SECRET (or <data>/front-end-secret; npm start does it)";
  }
  return refuseInsecureTransport(request, policy);
}

/**
 * clientAddress, saying once per process when X-Forwarded-For came from a peer the hub does not
 * believe: after an upgrade `TRUST_PROXY=true` covers a proxy on this machine only, and a proxy
 * elsewhere (or a dashboard without FRONT_END_SECRET) would otherwise quietly make all its
 * visitors one address for rate limits and the audit log.
 */
export function createClientAddressReader(
  policy: TransportPolicy,
  warn: (peer: string, message: string) => void,
): (request: IncomingMessage) => string {
  let hasWarned = false;
  return (request) => {
    if (!hasWarned && request.headers["x-forwarded-for"] !== undefined && !isForwardingTrusted(request, policy)) {
      hasWarned = true;
      warn(
        request.socket?.remoteAddress ?? "unknown",
        "ignored X-Forwarded-For from a peer that is neither the dashboard (FRONT_END_SECRET) nor a proxy listed in TRUST_PROXY: if it is your proxy, list it: TRUST_PROXY=<its address or CIDR>, comma-separated",
      );
    }
    return clientAddress(request, policy);
  };
}
