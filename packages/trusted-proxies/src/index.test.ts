import { describe, expect, it } from "vitest";
import { createTrustedProxies, isTrustedProxy, parseTrustedProxies, resolveForwardedClient, unmapIPv4 } from "./index.js";

describe("parseTrustedProxies", () => {
  it("reads addresses, CIDRs and loopback, and trusts nobody by default", () => {
    expect(parseTrustedProxies("", "the hub")).toEqual([]);
    expect(parseTrustedProxies("false", "the hub")).toEqual([]);
    expect(parseTrustedProxies("true", "the hub")).toEqual(["127.0.0.0/8", "::1/128"]);
    expect(parseTrustedProxies("10.0.0.0/8, 192.0.2.7,2001:db8::/32", "the hub")).toEqual([
      "10.0.0.0/8",
      "192.0.2.7/32",
      "2001:db8::/32",
    ]);
  });

  it.each(["yes", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "example.com", "10.0.0.1/8/1", "::1/129", "10.0.0.0/x"])(
    "refuses %s, naming the server and the form",
    (value) => {
      expect(parseTrustedProxies(value, "the dashboard")).toMatch(
        /in front of the dashboard, e\.g\. TRUST_PROXY=10\.0\.0\.0\/8,192\.0\.2\.7/,
      );
    },
  );
});

describe("resolveForwardedClient", () => {
  const list = createTrustedProxies(["10.0.0.0/8", "::1/128"]);

  it("skips listed proxies from the right and stops at the first address that is not one", () => {
    expect(resolveForwardedClient("10.0.0.1", "198.51.100.9, 203.0.113.5, 10.0.0.2", list)).toBe("203.0.113.5");
  });

  it("keeps the nearest vouched address when an entry is not an address", () => {
    expect(resolveForwardedClient("10.0.0.1", "forged, 10.0.0.3", list)).toBe("10.0.0.3");
    expect(resolveForwardedClient("10.0.0.1", "", list)).toBe("10.0.0.1");
  });

  it("matches IPv4-mapped IPv6 the same as IPv4", () => {
    expect(unmapIPv4("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(isTrustedProxy("::ffff:10.1.2.3", list)).toBe(true);
    expect(isTrustedProxy("192.0.2.1", list)).toBe(false);
    expect(isTrustedProxy(undefined, list)).toBe(false);
  });
});
