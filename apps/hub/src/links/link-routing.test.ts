import { describe, expect, it } from "vitest";
import { readHubEnv } from "../config/env.js";
import {
  buildDownstreamHeaders,
  buildUpstreamHeaders,
  PATH_FORM_CONTENT_SECURITY_POLICY,
  withoutSessionCookie,
} from "./forward-headers.js";
import { createLinkMatcher } from "./link-routing.js";

const SLUG = "abcdefghijklmnopqrstuvwxyz";

function request(url: string, host?: string) {
  return { url, headers: host === undefined ? {} : { host } };
}

describe("createLinkMatcher", () => {
  const match = createLinkMatcher("localhost");

  it("takes <slug>.<LINK_DOMAIN> hosts whatever the path, port, case or trailing dot", () => {
    expect(match(request("/api/v1?x=1", `${SLUG}.localhost:3001`))).toEqual({ slug: SLUG, form: "host", target: "/api/v1?x=1" });
    expect(match(request("/", `${SLUG.toUpperCase()}.LOCALHOST.`))).toEqual({ slug: SLUG, form: "host", target: "/" });
    // The hub's own routes on a link host belong to the link, never to the hub.
    expect(match(request("/trpc/auth.me", `${SLUG}.localhost`))).toMatchObject({ form: "host", target: "/trpc/auth.me" });
  });

  it("leaves a link host named on the dashboard's port to the dashboard", () => {
    const beside = createLinkMatcher("localhost", { dashboardUrl: "http://127.0.0.1:3000" });
    expect(beside(request("/trpc/auth.me", `${SLUG}.localhost:3000`))).toBeUndefined();
    expect(beside(request("/", `${SLUG}.localhost:3001`))).toMatchObject({ slug: SLUG, form: "host" });
    expect(beside(request("/", `${SLUG}.localhost`))).toMatchObject({ slug: SLUG, form: "host" });
    // A dashboard on the default port shares it with links on a domain of their own.
    const production = createLinkMatcher("links.example.com", { dashboardUrl: "https://dash.example.com" });
    expect(production(request("/", `${SLUG}.links.example.com`))).toMatchObject({ slug: SLUG, form: "host" });
    // LINK_DOMAIN naming that very port says links are served there.
    const samePort = createLinkMatcher("links.test:8443", { dashboardUrl: "https://dash.test:8443" });
    expect(samePort(request("/", `${SLUG}.links.test:8443`))).toMatchObject({ slug: SLUG, form: "host" });
  });

  it("takes the path form /l/<slug>/..., stripping the prefix", () => {
    expect(match(request(`/l/${SLUG}/api/v1?q=2`, "127.0.0.1:3001"))).toEqual({
      slug: SLUG,
      form: "path",
      target: "/api/v1?q=2",
    });
    expect(match(request(`/l/${SLUG}`))).toEqual({ slug: SLUG, form: "path", target: "/" });
    expect(match(request(`/l/${SLUG}?q`))).toEqual({ slug: SLUG, form: "path", target: "/?q" });
    expect(match(request(`/l/${SLUG}//..//x`))).toEqual({ slug: SLUG, form: "path", target: "//..//x" });
  });

  it("leaves everything else to the hub", () => {
    for (const [url, host] of [
      ["/trpc/auth.me", "127.0.0.1:3001"],
      ["/relay", "localhost:3001"],
      ["/", "localhost"],
      ["/", `not-a-slug.localhost`],
      ["/", `${SLUG}.localhost.evil.example`],
      ["/", `${SLUG}localhost`],
      ["/", `x.${SLUG}.localhost`],
      ["/", "[::1]:3001"],
      [`/l/${SLUG}x/`, undefined],
      [`/l/${SLUG.slice(1)}/`, undefined],
      [`//l/${SLUG}/`, undefined],
      [`/x/l/${SLUG}/`, undefined],
    ] as const) {
      expect(match(request(url, host)), `${host} ${url}`).toBeUndefined();
    }
  });

  it("matches the configured link domain, ignoring a port in it", () => {
    const production = createLinkMatcher("links.example.com:8443");
    expect(production(request("/", `${SLUG}.links.example.com`))).toMatchObject({ slug: SLUG, form: "host" });
    expect(production(request("/", `${SLUG}.localhost`))).toBeUndefined();
    expect(production(request("/", `${SLUG}.example.com`))).toBeUndefined();
  });

  it("reads LINK_DOMAIN from the environment, refusing what is not a domain", () => {
    expect(readHubEnv({}).LINK_DOMAIN).toBeUndefined();
    expect(readHubEnv({ LINK_DOMAIN: "Links.Example.com" }).LINK_DOMAIN).toBe("links.example.com");
    expect(readHubEnv({ LINK_DOMAIN: "localhost:3001" }).LINK_DOMAIN).toBe("localhost:3001");
    for (const bad of ["https://links.example.com", "links..example.com", "*.example.com", "links.example.com/x", "-x.com"]) {
      expect(() => readHubEnv({ LINK_DOMAIN: bad }), bad).toThrow(/LINK_DOMAIN: must be a domain name/);
    }
  });
});

describe("forwarded headers", () => {
  const context = { clientIp: "203.0.113.9", proto: "https" as const, isUpgrade: false };

  it("keeps repeated headers in order, drops hop-by-hop and spoofable ones, and says who asked", () => {
    const upstream = buildUpstreamHeaders(
      [
        "Host",
        `${SLUG}.localhost:3001`,
        "Accept",
        "text/html",
        "X-Custom",
        "1",
        "X-Custom",
        "2",
        "Connection",
        "keep-alive, X-Secret-Hop",
        "X-Secret-Hop",
        "dropped",
        "Keep-Alive",
        "timeout=5",
        "Proxy-Authorization",
        "Basic abc",
        "TE",
        "trailers",
        "X-Forwarded-For",
        "1.2.3.4",
        "Forwarded",
        "for=1.2.3.4",
        "Expect",
        "100-continue",
        "Upgrade",
        "h2c",
        "Authorization",
        "Bearer service-token",
      ],
      context,
    );
    expect(upstream).toEqual([
      "Host",
      `${SLUG}.localhost:3001`,
      "Accept",
      "text/html",
      "X-Custom",
      "1",
      "X-Custom",
      "2",
      "Authorization",
      "Bearer service-token",
      "X-Forwarded-For",
      "203.0.113.9",
      "X-Forwarded-Proto",
      "https",
      "X-Forwarded-Host",
      `${SLUG}.localhost:3001`,
    ]);
  });

  it("keeps Upgrade for a WebSocket, and re-chunks a chunked body", () => {
    const websocket = buildUpstreamHeaders(
      ["Host", "h", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Key", "k"],
      { ...context, isUpgrade: true },
    );
    expect(websocket).toEqual(
      expect.arrayContaining(["Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Key", "k"]),
    );
    const chunked = buildUpstreamHeaders(["Host", "h", "Transfer-Encoding", "chunked"], context);
    expect(chunked).toContain("Transfer-Encoding");
  });

  it("never passes the hub's session cookie to the service", () => {
    expect(withoutSessionCookie("a=1; pc_session=secret; b=2")).toBe("a=1; b=2");
    expect(withoutSessionCookie("pc_session=secret")).toBeUndefined();
    expect(withoutSessionCookie("__Host-pc_session=x;  PC_SESSION=y ;theme=dark")).toBe("theme=dark");
    const upstream = buildUpstreamHeaders(["Cookie", "pc_session=secret", "Cookie", "app=1; pc_session=s2"], context);
    expect(upstream.slice(0, 2)).toEqual(["Cookie", "app=1"]);
    expect(upstream.join("\n")).not.toContain("secret");
  });

  it("passes both Set-Cookie headers back, but not one for the hub's session", () => {
    const downstream = buildDownstreamHeaders(
      [
        "Set-Cookie",
        "a=1; Path=/",
        "Set-Cookie",
        "b=2; HttpOnly",
        "Set-Cookie",
        "pc_session=evil; Path=/",
        "Connection",
        "close",
        "Transfer-Encoding",
        "chunked",
        "Location",
        "/login",
      ],
      { isUpgrade: false, status: 302 },
    );
    expect(downstream).toEqual({
      kind: "passed",
      headers: ["Set-Cookie", "a=1; Path=/", "Set-Cookie", "b=2; HttpOnly", "Location", "/login"],
      droppedCookies: ["the hub's session cookie"],
    });
  });

  it("sandboxes the path form and keeps its redirects under /l/<slug>", () => {
    const pathForm = { isUpgrade: false, status: 302, pathFormPrefix: `/l/${SLUG}`, visitorOrigin: "http://hub.test" };
    const downstream = buildDownstreamHeaders(["Location", "/login?next=/", "Content-Type", "text/html"], pathForm);
    expect(downstream).toMatchObject({
      kind: "passed",
      headers: [
        "Location",
        `/l/${SLUG}/login?next=/`,
        "Content-Type",
        "text/html",
        "Content-Security-Policy",
        PATH_FORM_CONTENT_SECURITY_POLICY,
      ],
    });
    // A redirect off the hub's host refuses the response: the hub's origin is no open redirect.
    expect(buildDownstreamHeaders(["Location", "//evil.example/x"], pathForm)).toEqual({ kind: "refused", header: "Location" });
    // Outside a 3xx a foreign Location is not followed by browsers, and passes.
    expect(buildDownstreamHeaders(["Location", "//evil.example/x"], { ...pathForm, status: 201 })).toMatchObject({
      kind: "passed",
      headers: ["Location", "//evil.example/x", "Content-Security-Policy", PATH_FORM_CONTENT_SECURITY_POLICY],
    });
  });

  it("keeps the handshake headers of a 101", () => {
    expect(
      buildDownstreamHeaders(["Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", "x"], {
        isUpgrade: true,
        status: 101,
      }),
    ).toMatchObject({ kind: "passed", headers: ["Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", "x"] });
  });
});
