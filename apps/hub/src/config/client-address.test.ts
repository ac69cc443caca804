import type { IncomingMessage } from "node:http";
import { createTrustedProxies, parseTrustedProxies } from "@private-connect/trusted-proxies";
import { describe, expect, it } from "vitest";
import {
  clientAddress,
  createClientAddressReader,
  FRONT_END_HEADER,
  hashFrontEndSecret,
  isFrontEndRequest,
  isLoopbackAddress,
  isSecureRequest,
  refuseInsecureTransport,
  refuseRequest,
  type TransportPolicy,
} from "./client-address.js";

function request(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

const SECRET = "the-dashboards-secret-of-at-least-32-characters";

function policyTrusting(trustProxy: string, overrides: Partial<TransportPolicy> = {}): TransportPolicy {
  const networks = parseTrustedProxies(trustProxy, "the hub");
  if (typeof networks === "string") throw new Error(networks);
  return {
    isTlsServed: false,
    allowInsecure: false,
    trustedProxies: createTrustedProxies(networks),
    frontEndSecretHash: hashFrontEndSecret(SECRET),
    ...overrides,
  };
}

const plain = policyTrusting("false");

describe("transport policy", () => {
  it("accepts plain HTTP from loopback and refuses it from another machine", () => {
    expect(refuseInsecureTransport(request("127.0.0.1"), plain)).toBeUndefined();
    expect(refuseInsecureTransport(request("::1"), plain)).toBeUndefined();
    expect(refuseInsecureTransport(request("::ffff:127.0.0.1"), plain)).toBeUndefined();
    expect(refuseInsecureTransport(request("192.168.1.20"), plain)).toMatch(/https.*ALLOW_INSECURE=true/);
  });

  it("accepts anything when the hub serves TLS, or when ALLOW_INSECURE is set", () => {
    expect(refuseInsecureTransport(request("192.168.1.20"), { ...plain, isTlsServed: true })).toBeUndefined();
    expect(refuseInsecureTransport(request("192.168.1.20"), { ...plain, allowInsecure: true })).toBeUndefined();
  });

  it("believes X-Forwarded-Proto only from a trusted proxy", () => {
    const loopbackProxy = policyTrusting("true");
    const viaProxy = request("127.0.0.1", { "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9" });
    expect(refuseInsecureTransport(viaProxy, loopbackProxy)).toBeUndefined();
    // A local proxy relaying a plain-HTTP visitor from elsewhere does not make that visitor local.
    const proxiedPlain = request("127.0.0.1", { "x-forwarded-proto": "http", "x-forwarded-for": "203.0.113.9" });
    expect(refuseInsecureTransport(proxiedPlain, loopbackProxy)).toBeDefined();
    const spoofed = request("198.51.100.7", { "x-forwarded-proto": "https" });
    expect(refuseInsecureTransport(spoofed, plain)).toBeDefined();
    expect(refuseInsecureTransport(spoofed, loopbackProxy)).toBeDefined();
  });

  it("knows loopback addresses", () => {
    expect(isLoopbackAddress("127.0.0.2")).toBe(true);
    expect(isLoopbackAddress("10.0.0.1")).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});

describe("TRUST_PROXY", () => {
  const forwarded = (peer: string, xff: string) => request(peer, { "x-forwarded-for": xff });

  it("off by default: X-Forwarded-For is anybody's say", () => {
    expect(clientAddress(forwarded("127.0.0.1", "10.9.9.9, 203.0.113.9"), plain)).toBe("127.0.0.1");
  });

  it("true keeps meaning a proxy on this machine, and only there", () => {
    const trusting = policyTrusting("true");
    expect(clientAddress(forwarded("127.0.0.1", "10.9.9.9, 203.0.113.9"), trusting)).toBe("203.0.113.9");
    expect(clientAddress(forwarded("::ffff:127.0.0.1", "203.0.113.9"), trusting)).toBe("203.0.113.9");
    // A client elsewhere choosing its own address is what `true` used to allow.
    expect(clientAddress(forwarded("198.51.100.7", "203.0.113.9"), trusting)).toBe("198.51.100.7");
    expect(clientAddress(forwarded("127.0.0.1", "not-an-ip"), trusting)).toBe("127.0.0.1");
  });

  it("a CIDR list believes only the listed peers, and walks back through a chain of them", () => {
    const trusting = policyTrusting("10.0.0.0/8, 192.0.2.7");
    expect(clientAddress(forwarded("10.1.2.3", "203.0.113.9"), trusting)).toBe("203.0.113.9");
    expect(clientAddress(forwarded("192.0.2.7", "203.0.113.9"), trusting)).toBe("203.0.113.9");
    expect(clientAddress(forwarded("192.0.2.8", "203.0.113.9"), trusting)).toBe("192.0.2.8");
    // Loopback is not listed, so a process on the hub's machine cannot pick an address either.
    expect(clientAddress(forwarded("127.0.0.1", "203.0.113.9"), trusting)).toBe("127.0.0.1");
    // Two listed proxies in a row: the client is the first unlisted entry from the right; what the
    // client wrote further left is its own claim and ignored.
    expect(clientAddress(forwarded("10.1.2.3", "6.6.6.6, 203.0.113.9, 10.4.5.6"), trusting)).toBe("203.0.113.9");
    expect(isSecureRequest(request("192.0.2.8", { "x-forwarded-proto": "https" }), trusting)).toBe(false);
    expect(isSecureRequest(request("192.0.2.7", { "x-forwarded-proto": "https" }), trusting)).toBe(true);
  });

  it("IPv6 networks", () => {
    const trusting = policyTrusting("2001:db8::/32");
    expect(clientAddress(forwarded("2001:db8::5", "203.0.113.9"), trusting)).toBe("203.0.113.9");
    expect(clientAddress(forwarded("2001:db9::5", "203.0.113.9"), trusting)).toBe("2001:db9::5");
  });
});

describe("the dashboard as a trusted front end", () => {
  const fromDashboard = (secret: string, headers: Record<string, string> = {}) =>
    request("127.0.0.1", { [FRONT_END_HEADER]: secret, ...headers });

  it("believes the address and scheme the dashboard saw, with no TRUST_PROXY at all", () => {
    const req = fromDashboard(SECRET, { "x-forwarded-for": "127.0.0.9", "x-forwarded-proto": "https" });
    expect(isFrontEndRequest(req, plain)).toBe(true);
    expect(clientAddress(req, plain)).toBe("127.0.0.9");
    expect(isSecureRequest(req, plain)).toBe(true);
    expect(refuseRequest(req, plain)).toBeUndefined();
  });

  it("refuses a wrong secret outright instead of believing, or quietly ignoring, it", () => {
    for (const forged of ["", "guess", `${SECRET}x`, SECRET.toUpperCase()]) {
      const req = fromDashboard(forged, { "x-forwarded-for": "203.0.113.9" });
      expect(isFrontEndRequest(req, plain), forged).toBe(false);
      expect(clientAddress(req, plain)).toBe("127.0.0.1");
      expect(refuseRequest(req, plain)).toMatch(
        /front-end secret is not this hub's: give the dashboard the hub's FRONT_END_SECRET/,
      );
    }
    expect(refuseRequest(fromDashboard(SECRET), { ...plain, frontEndSecretHash: undefined })).toMatch(/front-end secret/);
  });

  it("holds the browser on another machine to the plain-HTTP rule like any client", () => {
    const lanBrowser = fromDashboard(SECRET, { "x-forwarded-for": "192.168.1.20", "x-forwarded-proto": "http" });
    expect(refuseRequest(lanBrowser, plain)).toMatch(/ALLOW_INSECURE=true/);
    expect(refuseRequest(lanBrowser, { ...plain, allowInsecure: true })).toBeUndefined();
  });
});

describe("an ignored X-Forwarded-For", () => {
  it("is said once, naming TRUST_PROXY's form, and never for a believed forwarder", () => {
    const warnings: string[] = [];
    const read = createClientAddressReader(policyTrusting("10.0.0.0/8"), (_peer, message) => warnings.push(message));
    expect(read(request("10.1.1.1", { "x-forwarded-for": "203.0.113.9" }))).toBe("203.0.113.9");
    expect(read(request("127.0.0.1", { [FRONT_END_HEADER]: SECRET, "x-forwarded-for": "127.0.0.9" }))).toBe("127.0.0.9");
    expect(read(request("192.0.2.99"))).toBe("192.0.2.99");
    expect(warnings).toEqual([]);
    expect(read(request("192.0.2.99", { "x-forwarded-for": "203.0.113.9" }))).toBe("192.0.2.99");
    expect(read(request("192.0.2.98", { "x-forwarded-for": "203.0.113.9" }))).toBe("192.0.2.98");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/list it: TRUST_PROXY=<its address or CIDR>/);
  });
});
