import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_EXPIRED, SIGN_IN_LINK_INVALID, WORKSPACE_REQUIRED } from "../errors.js";
import { appRouter } from "../root.js";
import { type Harness, openHarness } from "../test-support/harness.js";
import { createContextFromRequest } from "../trpc.js";

interface HttpAnswer {
  status: number;
  setCookies: string[];
  body: {
    result?: { data: unknown };
    error?: { message: string; data: { appCode: string | null; httpStatus: number; retryAfterSeconds?: number } };
  };
}

// The cookie contract as the hub's adapter serves it: real Set-Cookie headers, a Host header
// chosen per request (which fetch cannot set), the x-pc-workspace header.
describe("session cookies over HTTP (createContextFromRequest, PGlite)", () => {
  let harness: Harness;
  let port: number;
  let close: () => Promise<void>;

  function send(
    method: "GET" | "POST",
    path: string,
    options: { host?: string; cookie?: string; body?: unknown; contentType?: string; workspaceId?: string } = {},
  ): Promise<HttpAnswer> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { host: options.host ?? `127.0.0.1:${port}` };
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    if (options.workspaceId !== undefined) headers["x-pc-workspace"] = options.workspaceId;
    if (method === "POST") headers["content-type"] = options.contentType ?? "application/json";
    return new Promise((resolve, reject) => {
      const outgoing = request({ host: "127.0.0.1", port, method, path: `/trpc/${path}`, headers, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            setCookies: res.headers["set-cookie"] ?? [],
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as HttpAnswer["body"],
          });
        });
      });
      outgoing.on("timeout", () => outgoing.destroy(new Error("request timed out")));
      outgoing.on("error", reject);
      outgoing.end(payload);
    });
  }

  async function requestLinkToken(email: string): Promise<string> {
    const before = harness.sentMail.length;
    const answer = await send("POST", "auth.requestMagicLink", { body: { email } });
    expect(answer.status).toBe(200);
    const token = new URL(harness.sentMail[before]?.url ?? "http://x").searchParams.get("token");
    if (token === null) throw new Error("no link mailed");
    return token;
  }

  function readSessionCookieValue(setCookies: string[]): string {
    const cookie = setCookies.find((header) => header.startsWith("pc_session="));
    return cookie?.slice("pc_session=".length).split(";")[0] ?? "";
  }

  beforeAll(async () => {
    harness = await openHarness("pglite");
    const server = createHTTPServer({
      router: appRouter,
      createContext: createContextFromRequest(harness.deps),
      basePath: "/trpc/",
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    port = (server.address() as AddressInfo).port;
    close = () => new Promise<void>((done) => server.close(() => done()));
  });

  afterAll(async () => {
    await close?.();
    await harness?.close();
  });

  it("sets the session cookie HttpOnly and SameSite=Lax, Secure except on a loopback Host", async () => {
    const onLoopback = await send("POST", "auth.verifyMagicLink", {
      body: { token: await requestLinkToken("http-a@example.com") },
    });
    expect(onLoopback.status).toBe(200);
    expect(onLoopback.setCookies).toEqual([
      expect.stringMatching(/^pc_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/),
    ]);

    const remote = await send("POST", "auth.verifyMagicLink", {
      host: "dashboard.example.com",
      body: { token: await requestLinkToken("http-b@example.com") },
    });
    expect(remote.setCookies).toEqual([
      expect.stringMatching(/^pc_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax$/),
    ]);
  });

  it("reads the cookie and x-pc-workspace, and clears the cookie on logout", async () => {
    const verified = await send("POST", "auth.verifyMagicLink", {
      body: { token: await requestLinkToken("http-c@example.com") },
    });
    const session = readSessionCookieValue(verified.setCookies);
    const cookie = `theme=dark; pc_session=${session}`;
    const me = await send("GET", "auth.me", { cookie });
    expect(me.status).toBe(200);
    const { workspaces } = (me.body.result?.data ?? {}) as { workspaces: { id: string }[] };
    const workspaceId = workspaces[0]?.id ?? "";
    expect((await send("GET", "services.list", { cookie, workspaceId })).body.result?.data).toEqual([]);

    const loggedOut = await send("POST", "auth.logout", { cookie });
    expect(loggedOut.setCookies).toEqual([
      "pc_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax",
    ]);
    const after = await send("GET", "auth.me", { cookie });
    expect(after.status).toBe(401);
    expect(after.body.error?.message).toBe(SESSION_EXPIRED);
    // The dead cookie is cleared on the way out as well.
    expect(after.setCookies).toEqual([expect.stringMatching(/^pc_session=; Path=\/; Max-Age=0;/)]);
  });

  it("subscribes a signed-in user to a workspace named in connectionParams, since EventSource sends no headers", async () => {
    const verified = await send("POST", "auth.verifyMagicLink", {
      body: { token: await requestLinkToken("http-sse@example.com") },
    });
    const cookie = `pc_session=${readSessionCookieValue(verified.setCookies)}`;
    const me = await send("GET", "auth.me", { cookie });
    const workspaceId = ((me.body.result?.data ?? {}) as { workspaces: { id: string }[] }).workspaces[0]?.id ?? "";
    const params = encodeURIComponent(JSON.stringify({ workspaceId }));
    const firstEvent = await new Promise<string>((resolve, reject) => {
      const outgoing = request(
        {
          host: "127.0.0.1",
          port,
          path: `/trpc/events.workspace?connectionParams=${params}`,
          headers: { host: `127.0.0.1:${port}`, cookie, accept: "text/event-stream" },
          timeout: 5_000,
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString("utf8");
            if (text.includes('"subscribed"')) {
              outgoing.destroy();
              resolve(text);
            }
          });
          res.on("end", () => reject(new Error(`stream ended before the first event: ${text}`)));
        },
      );
      outgoing.on("timeout", () => outgoing.destroy(new Error("no event within 5 s")));
      outgoing.on("error", (error) => reject(error));
      outgoing.end();
    });
    expect(firstEvent).toContain(`"workspaceId":"${workspaceId}"`);
  });

  it("takes the workspace of queries and mutations from x-pc-workspace only, never from connectionParams in the URL", async () => {
    const verified = await send("POST", "auth.verifyMagicLink", {
      body: { token: await requestLinkToken("http-params@example.com") },
    });
    const cookie = `pc_session=${readSessionCookieValue(verified.setCookies)}`;
    const me = await send("GET", "auth.me", { cookie });
    const own = ((me.body.result?.data ?? {}) as { workspaces: { id: string }[] }).workspaces[0]?.id ?? "";
    const created = await send("POST", "workspaces.create", { cookie, body: { name: "Second" } });
    const second = ((created.body.result?.data ?? {}) as { id: string }).id;
    expect(second).not.toBe(own);
    const inSecond = await send("POST", "apiKeys.create", { cookie, workspaceId: second, body: { name: "in-second" } });
    expect(inSecond.status).toBe(200);
    const pickSecond = `connectionParams=${encodeURIComponent(JSON.stringify({ workspaceId: second }))}`;
    const keyNames = (answer: HttpAnswer) => ((answer.body.result?.data ?? []) as { name: string }[]).map((key) => key.name);

    // The header decides; the URL's parameter does not even break the tie.
    const withHeader = await send("GET", `apiKeys.list?${pickSecond}`, { cookie, workspaceId: own });
    expect(withHeader.status).toBe(200);
    expect(keyNames(withHeader)).not.toContain("in-second");
    // Without the header a query or mutation is refused, as if the URL named nothing: a link that
    // carries connectionParams cannot choose where a victim's cookie acts.
    const query = await send("GET", `apiKeys.list?${pickSecond}`, { cookie });
    expect(query.status).toBe(400);
    expect(query.body.error?.message).toBe(WORKSPACE_REQUIRED);
    const mutation = await send("POST", `apiKeys.create?${pickSecond}`, { cookie, body: { name: "via-params" } });
    expect(mutation.status).toBe(400);
    expect(mutation.body.error?.message).toBe(WORKSPACE_REQUIRED);
    expect(keyNames(await send("GET", "apiKeys.list", { cookie, workspaceId: second }))).toEqual(["in-second"]);
  });

  it("ignores the session cookie on a POST that is not JSON, so a form on a sibling site cannot use it", async () => {
    const verified = await send("POST", "auth.verifyMagicLink", {
      body: { token: await requestLinkToken("http-d@example.com") },
    });
    const cookie = `pc_session=${readSessionCookieValue(verified.setCookies)}`;
    // A cross-site form post: multipart needs no CORS preflight, and browsers attach Lax cookies
    // when the posting page is on the same site.
    await send("POST", "auth.logout", { cookie, contentType: "multipart/form-data; boundary=x", body: "--x--" });
    expect((await send("GET", "auth.me", { cookie })).status).toBe(200);
  });

  it("answers 401 for a used link and 429 with retryAfterSeconds once an address is over its limit", async () => {
    const token = await requestLinkToken("http-e@example.com");
    await send("POST", "auth.verifyMagicLink", { body: { token } });
    const reused = await send("POST", "auth.verifyMagicLink", { body: { token } });
    expect(reused.status).toBe(401);
    expect(reused.body.error?.message).toBe(SIGN_IN_LINK_INVALID);
    expect(reused.setCookies).toEqual([]);

    for (let i = 0; i < 4; i += 1) await send("POST", "auth.requestMagicLink", { body: { email: "http-e@example.com" } });
    const limited = await send("POST", "auth.requestMagicLink", { body: { email: "http-e@example.com" } });
    expect(limited.status).toBe(429);
    expect(limited.body.error?.data).toMatchObject({ appCode: "RATE_LIMITED", httpStatus: 429 });
    expect(limited.body.error?.data.retryAfterSeconds).toBeGreaterThan(890);
  });
});
