import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddress, isLoopbackAddress, refuseInsecureTransport } from "./client-address.js";

function request(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

const plain = { isTlsServed: false, allowInsecure: false, trustProxy: false };

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
    const viaProxy = request("127.0.0.1", { "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9" });
    expect(refuseInsecureTransport(viaProxy, { ...plain, trustProxy: true })).toBeUndefined();
    const proxiedPlain = request("127.0.0.1", { "x-forwarded-proto": "http", "x-forwarded-for": "203.0.113.9" });
    expect(refuseInsecureTransport(proxiedPlain, { ...plain, trustProxy: true })).toBeDefined();
    const spoofed = request("198.51.100.7", { "x-forwarded-proto": "https" });
    expect(refuseInsecureTransport(spoofed, plain)).toBeDefined();
  });

  it("takes the client address from X-Forwarded-For only behind a trusted proxy", () => {
    const req = request("127.0.0.1", { "x-forwarded-for": "10.9.9.9, 203.0.113.9" });
    expect(clientAddress(req, { trustProxy: false })).toBe("127.0.0.1");
    expect(clientAddress(req, { trustProxy: true })).toBe("203.0.113.9");
    expect(clientAddress(request("127.0.0.1", { "x-forwarded-for": "not-an-ip" }), { trustProxy: true })).toBe("127.0.0.1");
  });

  it("knows loopback addresses", () => {
    expect(isLoopbackAddress("127.0.0.2")).toBe(true);
    expect(isLoopbackAddress("10.0.0.1")).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});
