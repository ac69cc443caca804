import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

export interface TransportPolicy {
  isTlsServed: boolean;
  allowInsecure: boolean;
  trustProxy: boolean;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
  return plain === "::1" || plain.startsWith("127.");
}

/**
 * The client's address. Behind a trusted proxy it is the last X-Forwarded-For entry (the
 * one that proxy appended); otherwise the header is ignored, since any client can send it.
 */
export function clientAddress(request: IncomingMessage, policy: Pick<TransportPolicy, "trustProxy">): string {
  // `socket` is null once a request's connection is gone; never let that become a crash.
  const peer = request.socket?.remoteAddress ?? "unknown";
  if (!policy.trustProxy) return peer;
  const forwarded = firstHeader(request.headers["x-forwarded-for"]);
  const last = forwarded?.split(",").at(-1)?.trim();
  return last && isIP(last) ? last : peer;
}

/** Whether the request reached us over TLS (directly, or at a trusted proxy). */
export function isSecureRequest(request: IncomingMessage, policy: TransportPolicy): boolean {
  if (policy.isTlsServed) return true;
  return policy.trustProxy && firstHeader(request.headers["x-forwarded-proto"])?.split(",")[0]?.trim() === "https";
}

/**
 * Plain HTTP is accepted only from this machine unless ALLOW_INSECURE is set: elsewhere the
 * tokens in it would cross the network in clear. Returns the refusal text, or undefined.
 */
export function refuseInsecureTransport(request: IncomingMessage, policy: TransportPolicy): string | undefined {
  if (policy.allowInsecure || isSecureRequest(request, policy)) return undefined;
  if (isLoopbackAddress(request.socket.remoteAddress) && !(policy.trustProxy && request.headers["x-forwarded-for"]))
    return undefined;
  return "This hub refuses plain HTTP from other machines: connect over https (TLS_CERT/TLS_KEY or a TLS proxy), or set ALLOW_INSECURE=true on a network you trust";
}
