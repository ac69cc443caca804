import { describe, expect, it } from "vitest";
import {
  buildClearedSessionCookie,
  buildSessionCookie,
  isLoopbackHost,
  readCookie,
  serializeClearedCookie,
  serializeCookie,
} from "./session-cookie.js";

describe("session cookie", () => {
  it("treats localhost, 127.0.0.1 and [::1] (any port) as loopback, and anything else or nothing as not", () => {
    for (const host of ["localhost", "localhost:3001", "127.0.0.1:3001", "[::1]:3001", "[::1]", "LOCALHOST"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [undefined, "", "app.example.com", "127.0.0.2", "localhost.evil.com", "[::2]:80", "10.0.0.1:3001"]) {
      expect(isLoopbackHost(host), String(host)).toBe(false);
    }
  });

  it("is HttpOnly, SameSite=Lax, Path=/, 30 days, and Secure except on loopback", () => {
    expect(serializeCookie(buildSessionCookie("abc", "app.example.com"))).toBe(
      "pc_session=abc; Path=/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax",
    );
    expect(serializeCookie(buildSessionCookie("abc", "127.0.0.1:3001"))).toBe(
      "pc_session=abc; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax",
    );
    expect(serializeClearedCookie(buildClearedSessionCookie("app.example.com"))).toBe(
      "pc_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax",
    );
  });

  it("reads one cookie out of a Cookie header", () => {
    expect(readCookie("a=1; pc_session=tok; b=2", "pc_session")).toBe("tok");
    expect(readCookie('pc_session="tok"', "pc_session")).toBe("tok");
    expect(readCookie("xpc_session=evil; pc_session=tok", "pc_session")).toBe("tok");
    expect(readCookie("a=1", "pc_session")).toBeUndefined();
    expect(readCookie(undefined, "pc_session")).toBeUndefined();
  });
});
