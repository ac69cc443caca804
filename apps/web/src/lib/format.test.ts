import { describe, expect, it } from "vitest";
import { describeTokenState, formatBytes, formatRelative, formatTime, maskAddress } from "./format";

const NOW = Date.parse("2030-01-31T12:00:00Z");

describe("formatting for the dashboard's tables", () => {
  it("says how long ago or how soon, in whole units", () => {
    expect(formatRelative("2030-01-31T11:57:00Z", NOW)).toBe("3 minutes ago");
    expect(formatRelative("2030-03-01T12:00:00Z", NOW)).toBe("in 29 days");
    expect(formatRelative("2030-02-07T11:59:00Z", NOW)).toBe("in 7 days");
    expect(formatRelative("2030-02-01T11:59:00Z", NOW)).toBe("in 1 day");
    expect(formatRelative("2030-01-31T12:00:02Z", NOW)).toBe("just now");
    expect(formatRelative("2030-01-31T11:00:00Z", NOW)).toBe("1 hour ago");
  });

  it("shows times in UTC whatever the browser's zone", () => {
    expect(formatTime("2030-01-31T14:05:09.123Z")).toBe("2030-01-31 14:05 UTC");
  });

  it("sizes bytes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300 MiB");
  });

  it("warns from 7 days before a token expires, as connect status does", () => {
    expect(describeTokenState("2030-03-01T00:00:00Z", NOW)).toBe("ok");
    expect(describeTokenState("2030-02-06T00:00:00Z", NOW)).toBe("expiring");
    expect(describeTokenState("2030-01-31T11:59:59Z", NOW)).toBe("expired");
  });
});

describe("masked addresses", () => {
  it("keeps the network, never the host", () => {
    expect(maskAddress("192.168.1.20")).toBe("192.168.x.x");
    expect(maskAddress("::ffff:10.20.30.40")).toBe("10.20.x.x");
    expect(maskAddress("2001:db8:1:2::5")).toBe("2001:db8:x:x:x:x:x:x");
    expect(maskAddress("::1")).toBe("0:0:x:x:x:x:x:x");
    expect(maskAddress("10.20.x.x")).toBe("10.20.x.x");
    expect(maskAddress(null)).toBe("—");
  });
});
