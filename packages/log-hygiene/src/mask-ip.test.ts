import { describe, expect, it } from "vitest";
import { maskIp, maskIpsInText } from "./mask-ip.js";

describe("maskIp (one address, as logged under an ip key)", () => {
  it("keeps the first two octets of IPv4", () => {
    expect(maskIp("192.168.1.42")).toBe("192.168.x.x");
    expect(maskIp("203.0.113.9")).toBe("203.0.x.x");
    expect(maskIp(" 10.1.2.3 ")).toBe("10.1.x.x");
  });

  it("keeps the first two groups of IPv6, whatever its notation", () => {
    expect(maskIp("2001:db8:85a3:8d3:1319:8a2e:370:7348")).toBe("2001:db8:x:x:x:x:x:x");
    expect(maskIp("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8:x:x:x:x:x:x");
    expect(maskIp("2001:db8::1")).toBe("2001:db8:x:x:x:x:x:x");
    expect(maskIp("2001::7")).toBe("2001:0:x:x:x:x:x:x");
    expect(maskIp("[2001:db8::1]")).toBe("2001:db8:x:x:x:x:x:x");
    expect(maskIp("fe80::1%eth0")).toBe("fe80:0:x:x:x:x:x:x");
    expect(maskIp("::1")).toBe("0:0:x:x:x:x:x:x");
  });

  it("masks an IPv4-mapped IPv6 address as the IPv4 it carries", () => {
    expect(maskIp("::ffff:192.168.1.42")).toBe("::ffff:192.168.x.x");
    expect(maskIp("::FFFF:203.0.113.9")).toBe("::ffff:203.0.x.x");
    expect(maskIp("::ffff:127.0.0.2")).toBe("::ffff:127.0.x.x");
  });

  it("masks loopback too: under an ip key the value is a client's address by declaration", () => {
    expect(maskIp("127.0.0.1")).toBe("127.0.x.x");
    expect(maskIp("127.0.0.1", { keepLoopback: true })).toBe("127.0.0.1");
    expect(maskIp("::1", { keepLoopback: true })).toBe("::1");
    expect(maskIp("::ffff:127.0.0.1", { keepLoopback: true })).toBe("::ffff:127.0.0.1");
    expect(maskIp("10.0.0.1", { keepLoopback: true })).toBe("10.0.x.x");
  });

  it("masks what is not a single address as text: lists, address:port, unknown", () => {
    expect(maskIp("203.0.113.9, 198.51.100.7")).toBe("203.0.x.x, 198.51.x.x");
    expect(maskIp("203.0.113.9:51234")).toBe("203.0.x.x:51234");
    expect(maskIp("[2001:db8::1]:443")).toBe("[2001:db8:x:x:x:x:x:x]:443");
    expect(maskIp("unknown")).toBe("unknown");
    expect(maskIp("")).toBe("");
  });
});

describe("maskIpsInText (addresses inside free text)", () => {
  it("masks addresses wherever they sit in a sentence", () => {
    expect(maskIpsInText("token used from 203.0.113.9 (before: 198.51.100.7).")).toBe(
      "token used from 203.0.x.x (before: 198.51.x.x).",
    );
    expect(maskIpsInText("from 2001:db8::8a2e:370:7334, then fe80::1: refused")).toBe(
      "from 2001:db8:x:x:x:x:x:x, then fe80:0:x:x:x:x:x:x: refused",
    );
    expect(maskIpsInText("peer=::ffff:10.9.8.7;")).toBe("peer=::ffff:10.9.x.x;");
    expect(maskIpsInText('{"ip":"192.168.0.12"}')).toBe('{"ip":"192.168.x.x"}');
    expect(maskIpsInText("http://[2001:db8::2]:3001/trpc")).toBe("http://[2001:db8:x:x:x:x:x:x]:3001/trpc");
  });

  it("leaves times, versions, MAC addresses and non-addresses alone", () => {
    for (const text of [
      "2026-11-29T02:46:17.123Z",
      "at 10:20:30 on 1.2.3",
      "node v20.19.1 and lib 1.2.3.4.5",
      "mac aa:bb:cc:dd:ee:ff",
      "999.1.1.1 is no address",
      "std::string and Foo::bar",
      "ratio 3:2",
      "stream 12:34:56:78",
    ]) {
      expect(maskIpsInText(text)).toBe(text);
    }
  });

  it("keeps loopback and unspecified addresses only when asked", () => {
    const text = "listening on http://127.0.0.1:3001 and [::1]:3001 and 0.0.0.0; client 203.0.113.9";
    expect(maskIpsInText(text, { keepLoopback: true })).toBe(
      "listening on http://127.0.0.1:3001 and [::1]:3001 and 0.0.0.0; client 203.0.x.x",
    );
    expect(maskIpsInText(text)).toBe(
      "listening on http://127.0.x.x:3001 and [0:0:x:x:x:x:x:x]:3001 and 0.0.x.x; client 203.0.x.x",
    );
  });

  it("is idempotent", () => {
    const once = maskIpsInText("a 203.0.113.9 b 2001:db8::1 c ::ffff:10.0.0.1");
    expect(maskIpsInText(once)).toBe(once);
  });
});
