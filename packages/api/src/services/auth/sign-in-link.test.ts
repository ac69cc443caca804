import { describe, expect, it } from "vitest";
import { buildSignInUrl, describeNetwork } from "./sign-in-link.js";

describe("describeNetwork", () => {
  it("counts IPv4 per address and IPv6 per /64", () => {
    expect(describeNetwork("203.0.113.7")).toBe("203.0.113.7");
    expect(describeNetwork("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(describeNetwork("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(describeNetwork("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(describeNetwork("2001:db8:1:2::7")).toBe("2001:db8:1:2::/64");
    expect(describeNetwork("2001:0db8:0001:0002:ffff::1")).toBe("2001:db8:1:2::/64");
    expect(describeNetwork("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(describeNetwork("::1")).toBe("0:0:0:0::/64");
    expect(describeNetwork("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(describeNetwork(undefined)).toBe("unknown");
  });
});

describe("buildSignInUrl", () => {
  it("puts the token on the dashboard's /auth/verify, whatever trailing slash the configuration has", () => {
    expect(buildSignInUrl("https://app.example.com/", "tok")).toBe("https://app.example.com/auth/verify?token=tok");
    expect(buildSignInUrl("https://example.com/pc", "tok")).toBe("https://example.com/pc/auth/verify?token=tok");
  });
});
