import { normalizePathPrefix } from "@private-connect/api";
import { describe, expect, it } from "vitest";
import { checkRequestPath } from "./path-policy.js";

const API_V1 = ["/api/v1"];

function statusOf(target: string, prefixes: readonly string[] = API_V1): number {
  const decision = checkRequestPath(target, prefixes);
  return decision.kind === "allowed" ? 200 : decision.status;
}

describe("checkRequestPath: what a /api/v1 link lets through", () => {
  it.each([
    ["/api/v1", "/api/v1"],
    ["/api/v1/", "/api/v1/"],
    ["/api/v1/items", "/api/v1/items"],
    ["/api/v1/items/42?expand=true&x=%2F", "/api/v1/items/42?expand=true&x=%2F"],
    ["//api//v1///items", "/api/v1/items"],
    ["/api/v1/./items", "/api/v1/items"],
    ["/api/v1/x/../items", "/api/v1/items"],
    ["/api/v1/x/%2e%2E/items", "/api/v1/items"],
    ["/api\\v1\\items", "/api/v1/items"],
    ["/api/%76%31/items", "/api/v1/items"],
    ["/api/v1/a%20b", "/api/v1/a%20b"],
    ["/api/v1/caf%c3%a9", "/api/v1/caf%C3%A9"],
    // Valid UTF-8 and Latin-1 bytes are not overlong: only sequences that disguise a character are.
    ["/api/v1/%e0%a4%85", "/api/v1/%E0%A4%85"],
    ["/api/v1/%f0%9f%98%80", "/api/v1/%F0%9F%98%80"],
    ["/api/v1/gr%fc%dfe", "/api/v1/gr%FC%DFe"],
    ["/api/v1/%c0", "/api/v1/%C0"],
    // Whitespace around something other than a dot segment is just a name.
    ["/api/v1/%20a%20", "/api/v1/%20a%20"],
    ["/api/v1/...", "/api/v1/..."],
    ["/api/v1/%20...", "/api/v1/%20..."],
    ["/api/v1/%25", "/api/v1/%25"],
    ["/api/v1/x/..", "/api/v1/"],
    ['/api/v1/"{}', "/api/v1/%22%7B%7D"],
  ])("allows %s and forwards %s", (target, forwarded) => {
    const decision = checkRequestPath(target, API_V1);
    expect(decision).toMatchObject({ kind: "allowed", forwardTarget: forwarded });
  });

  it("forwards the query string untouched, and the audit path without it", () => {
    expect(checkRequestPath("/api/v1/search?q=a+b&q=%2e%2e%2f&empty=", API_V1)).toEqual({
      kind: "allowed",
      path: "/api/v1/search",
      forwardTarget: "/api/v1/search?q=a+b&q=%2e%2e%2f&empty=",
    });
  });

  // Each of these would reach /admin (or outside /api/v1) on some server if it were let through.
  it.each([
    "/api/v1/../admin",
    "/api/v1/%2e%2e/admin",
    "/api/v1/%2E%2E/admin",
    "/api/v1/%2e%2E/admin",
    "/api/v1/.%2e/admin",
    "/api/v1/%2e./admin",
    "/api/v1%2f..%2fadmin",
    "/api/v1%2F..%2Fadmin",
    "/api/v1%5c..%5cadmin",
    "/api/v1%5C..%5Cadmin",
    "/api/v1/..%2fadmin",
    "/api/v1/%2e%2e%2fadmin",
    "//api/v1/../admin",
    "/api/v1\\..\\admin",
    "/api/v1\\../admin",
    "/api/v1/./../../admin",
    "/api/v1/../../../../etc/passwd",
    "/api/v1/..;/admin",
    "/api/v1/..;jsessionid=x/admin",
    "/api/v1/.;/../admin",
    "/api/v1/%252e%252e/admin",
    "/api/v1/%252e%252e%252fadmin",
    "/api/v1%252fadmin",
    "/api/v1/%ef%bc%8e%ef%bc%8e/admin",
    "/api/v1/%e2%80%a5/admin",
    // Overlong UTF-8: `.` as %c0%ae (and 3-, 4-, 5-byte forms), `/` as %c0%af, for lenient decoders.
    "/api/v1/%c0%ae%c0%ae/admin",
    "/api/v1/%C0%AE%C0%AE/admin",
    "/api/v1/.%c0%ae/admin",
    "/api/v1/%e0%80%ae%e0%80%ae/admin",
    "/api/v1/%f0%80%80%ae%f0%80%80%ae/admin",
    "/api/v1/%f8%80%80%80%ae%f8%80%80%80%ae/admin",
    "/api/v1/..%c0%afadmin",
    "/api/v1%c0%af..%c0%afadmin",
    "/api/v1/%c1%9c",
    // Dot segments padded with what trimming servers drop.
    "/api/v1/%20../admin",
    "/api/v1/..%20/admin",
    "/api/v1/..%09/admin",
    "/api/v1/%09../admin",
    "/api/v1/..%0a/admin",
    "/api/v1/..%0d%0a/admin",
    "/api/v1/..%0b/admin",
    "/api/v1/..%0c/admin",
    "/api/v1/..%7f/admin",
    "/api/v1/..%01/admin",
    "/api/v1/%20%20..%20%20/admin",
    "/api/v1/.%20./admin",
    "/api/v1/..%c2%a0/admin",
    "/api/v1/..%e2%80%8b/admin",
    "/api/v1/%ef%bb%bf../admin",
    "/api/v1/..%20;x/admin",
    "/api/v1/%20./admin",
    "/api/v10",
    "/api/v10/items",
    "/api/v1.0",
    "/api/v1-internal",
    "/api/v2",
    "/API/v1",
    "/admin",
    "/",
    "/api",
  ])("refuses %s with 403", (target) => {
    expect(statusOf(target)).toBe(403);
  });

  it.each([
    "/api/v1/%00",
    "/api/v1/a%00b",
    "/api/v1/%",
    "/api/v1/%2",
    "/api/v1/%zz",
    "/api/v1/%g0",
    "api/v1",
    "*",
    "http://evil.example/api/v1",
    "/api/v1#frag",
  ])("refuses the malformed %s with 400", (target) => {
    expect(statusOf(target)).toBe(400);
  });

  it("refuses escape attempts even on a link without path restrictions", () => {
    expect(statusOf("/x%2fy", [])).toBe(403);
    expect(statusOf("/x/..;/y", [])).toBe(403);
    expect(statusOf("/x/%00", [])).toBe(400);
    // Dot segments are resolved, not refused: the service gets the resolved path.
    expect(checkRequestPath("/a/b/../../../c?d", [])).toMatchObject({ kind: "allowed", forwardTarget: "/c?d" });
  });

  it("matches any of several prefixes, and / as everything", () => {
    const prefixes = ["/api/v1", "/health"];
    expect(statusOf("/health", prefixes)).toBe(200);
    expect(statusOf("/health/live", prefixes)).toBe(200);
    expect(statusOf("/healthz", prefixes)).toBe(403);
    expect(statusOf("/anything/at/all", ["/"])).toBe(200);
  });

  it("compares requests with prefixes normalized by the same function", () => {
    const stored = (raw: string) => {
      const result = normalizePathPrefix(raw);
      if (!result.ok) throw new Error(result.message);
      return result.prefix;
    };
    expect(stored("/api/v1/")).toBe("/api/v1");
    expect(stored("//api//%76%31")).toBe("/api/v1");
    expect(stored("/caf\u00e9")).toBe("/caf%C3%A9");
    expect(statusOf("/caf%C3%A9/menu", [stored("/caf\u00e9")])).toBe(200);
    expect(statusOf("/api/v1/x", [stored("/api/%76%31")])).toBe(200);
    for (const bad of ["/api/../admin", "/api/%2e%2e", "api", "/a%2fb", "/a?b", "/a/./b", "/a/%zz"]) {
      expect(normalizePathPrefix(bad).ok).toBe(false);
    }
  });
});
