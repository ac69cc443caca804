import { describe, expect, it } from "vitest";
import { normalizeHubUrl } from "./hub-url.js";

const strict = { isInsecureAllowed: false };

describe("normalizeHubUrl", () => {
  it.each([
    ["https://hub.example.com", "https://hub.example.com"],
    ["https://hub.example.com:8443/", "https://hub.example.com:8443"],
    ["wss://hub.example.com/pc/", "https://hub.example.com/pc"],
    ["http://127.0.0.1:3001", "http://127.0.0.1:3001"],
    ["http://localhost:3001", "http://localhost:3001"],
    ["ws://[::1]:3001", "http://[::1]:3001"],
    ["  https://hub.example.com  ", "https://hub.example.com"],
  ])("accepts %s", (raw, expected) => {
    expect(normalizeHubUrl(raw, strict)).toBe(expected);
  });

  it.each(["http://hub.example.com", "ws://10.0.0.5:3001", "http://127.0.0.2:3001", "http://localhost.evil.com"])(
    "refuses plain %s and says how to allow it",
    (raw) => {
      expect(() => normalizeHubUrl(raw, strict)).toThrow(
        `Refusing insecure hub URL ${raw}: use https:// (or wss://), or set CONNECT_ALLOW_INSECURE=true to allow http:// and ws:// to hosts other than localhost`,
      );
    },
  );

  it("allows plain http beyond loopback when CONNECT_ALLOW_INSECURE is set", () => {
    expect(normalizeHubUrl("http://10.0.0.5:3001", { isInsecureAllowed: true })).toBe("http://10.0.0.5:3001");
  });

  it.each([
    "hub.example.com",
    "ftp://hub.example.com",
    "not a url",
    "https://user:pw@hub.example.com",
    "https://hub.example.com/?x=1",
  ])("refuses %j as invalid", (raw) => {
    expect(() => normalizeHubUrl(raw, strict)).toThrow(/^Invalid hub URL/);
  });
});
