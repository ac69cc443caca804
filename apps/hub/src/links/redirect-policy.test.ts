import { describe, expect, it } from "vitest";
import { mapRedirectIntoLink, mapRefreshIntoLink } from "./redirect-policy.js";

const PREFIX = "/l/abcdefghijklmnopqrstuvwxyz";
const CONTEXT = { pathFormPrefix: PREFIX, visitorOrigin: "http://hub.example.com:8080", servicePath: "/app/page?x=1" };

describe("mapRedirectIntoLink: a path-form link's redirects stay in the link", () => {
  it.each([
    ["/login", `${PREFIX}/login`],
    ["/", `${PREFIX}/`],
    ["/a?b=c#d", `${PREFIX}/a?b=c#d`],
    ["next", `${PREFIX}/app/next`],
    ["?page=2", `${PREFIX}/app/page?page=2`],
    // Relative paths climb in the service's own space, never out of the link.
    ["../../../trpc/auth.me", `${PREFIX}/trpc/auth.me`],
    ["/%2e%2e/%2e%2e/admin", `${PREFIX}/admin`],
    ["/a\\..\\..\\admin", `${PREFIX}/admin`],
    // `http:` + a path is relative to an http: page (WHATWG), so it stays.
    ["http:next", `${PREFIX}/app/next`],
    // Absolute on the hub's own host (a service building URLs from Host): into the link too.
    ["http://hub.example.com:8080/done", `${PREFIX}/done`],
    ["HTTP://HUB.EXAMPLE.COM:8080/done", `${PREFIX}/done`],
    ["https://hub.example.com:8080/secure", `https://hub.example.com:8080${PREFIX}/secure`],
  ])("maps %j to %j", (location, mapped) => {
    expect(mapRedirectIntoLink(location, CONTEXT)).toEqual({ kind: "rewritten", value: mapped });
  });

  // Each would send a visitor from the hub's origin to another site.
  it.each([
    "http://evil.example/",
    "https://evil.example/phish",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    " //evil.example",
    "\u0000//evil.example",
    "/\\..\\admin",
    "https:\\\\evil.example",
    "http://hub.example.com:9090/other-port",
    "http://hub.example.com/no-port",
    "http://user@evil.example/",
    "http://hub.example.com:8080@evil.example/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://hub.example.com:8080/",
    "http://[::1",
  ])("refuses %j", (location) => {
    expect(mapRedirectIntoLink(location, CONTEXT)).toEqual({ kind: "refused" });
  });

  it("without a Host header maps relative redirects and refuses every absolute one", () => {
    const hostless = { ...CONTEXT, visitorOrigin: undefined };
    expect(mapRedirectIntoLink("/x", hostless)).toEqual({ kind: "rewritten", value: `${PREFIX}/x` });
    expect(mapRedirectIntoLink("http://hub.example.com:8080/x", hostless)).toEqual({ kind: "refused" });
  });
});

describe("mapRefreshIntoLink", () => {
  it("maps the URL of a Refresh header, and refuses one that leaves", () => {
    expect(mapRefreshIntoLink("5", CONTEXT)).toEqual({ kind: "rewritten", value: "5" });
    expect(mapRefreshIntoLink("0; url=/next", CONTEXT)).toEqual({ kind: "rewritten", value: `0; url=${PREFIX}/next` });
    expect(mapRefreshIntoLink("3;URL='/q'", CONTEXT)).toEqual({ kind: "rewritten", value: `3; url=${PREFIX}/q` });
    expect(mapRefreshIntoLink("0; url=https://evil.example/", CONTEXT)).toEqual({ kind: "refused" });
    expect(mapRefreshIntoLink("0,//evil.example", CONTEXT)).toEqual({ kind: "refused" });
  });
});
