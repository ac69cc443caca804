// `npm start` serves the hub and the dashboard together on the embedded default: this runs the
// launcher it ends in (scripts/start.mjs) as a user would, signs in through the dashboard with
// the link the hub leaves in its data directory, attacks the dashboard's standing as the hub's
// trusted front end (forged forwarding headers, a guessed secret, a link host on its port, a
// forged X-Forwarded-Host), and stops both with Ctrl-C.
//
// Visitors on different addresses are sockets bound to 127.0.1.2, 127.0.1.3, ...: Linux routes
// all of 127.0.0.0/8 on lo, so the dashboard sees each as a peer of its own.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/net.ts";
import {
  createWorkspace,
  expectSuccess,
  type Hub,
  makeTempDir,
  parseJsonOutput,
  REPO_ROOT,
  startAgent,
} from "../support/processes.ts";

/** The one proxy the hub is told to believe (TRUST_PROXY); every other peer's say is ignored. */
const LISTED_PROXY = "127.0.0.5";
/** The hub's sign-in limit per network (MAGIC_LINKS_PER_IP) in a 15-minute window. */
const SIGN_IN_LINKS_PER_ADDRESS = 20;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One HTTP request from `from` (a loopback address of the caller's choosing), any Host included. */
function send(
  url: string,
  options: { from: string; method?: string; headers?: Record<string, string>; body?: unknown },
): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: options.method ?? (body === undefined ? "GET" : "POST"),
        localAddress: options.from,
        headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
        signal: AbortSignal.timeout(20_000),
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (chunk: string) => {
          text += chunk;
        });
        response.once("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
        response.once("error", reject);
      },
    );
    request.once("error", reject);
    request.end(body);
  });
}

describe("npm start", () => {
  let launcher: ChildProcess | undefined;
  let output = "";
  let exited: Promise<number | null>;
  let urls: { dashboard: string; hub: string };
  let dataDir: string;
  let linksFile: string;
  let emailCount = 0;
  /** A fresh address each time: the per-address sign-in limit (5) must never be what refuses. */
  const freshEmail = () => {
    emailCount += 1;
    return `visitor-${emailCount}@example.test`;
  };

  /** The sign-in link the hub wrote for `email` after `before` links were already in the file. */
  async function signInLinkFor(email: string, before: number): Promise<string> {
    return waitFor(
      async () => {
        const lines = (await readFile(linksFile, "utf8").catch(() => "")).split("\n").slice(before);
        const line = lines.find((candidate) => candidate.includes(` ${email} `));
        return line === undefined ? undefined : /https?:\/\/\S+\/auth\/verify\?token=[A-Za-z0-9_-]+/.exec(line)?.[0];
      },
      { what: `the sign-in link for ${email} in the data directory` },
    );
  }

  const linkCount = async () => (await readFile(linksFile, "utf8").catch(() => "")).split("\n").length - 1;

  /** Asks the dashboard for a sign-in link, from `from`, with whatever else the caller adds. */
  const requestLink = (from: string, headers: Record<string, string> = {}, email = freshEmail()) =>
    send(`${urls.dashboard}/trpc/auth.requestMagicLink`, {
      from,
      headers: { origin: urls.dashboard, ...headers },
      body: { email },
    });

  beforeAll(async () => {
    dataDir = join(await makeTempDir("start"), "data");
    linksFile = join(dataDir, "sign-in-links.log");
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (
        key.startsWith("VITEST") ||
        key.startsWith("CONNECT_") ||
        ["DATABASE_URL", "NODE_OPTIONS", "NODE_ENV", "SMTP_URL", "FRONT_END_SECRET"].includes(key)
      ) {
        continue;
      }
      env[key] = value;
    }
    env.TRUST_PROXY = LISTED_PROXY;
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "scripts", "start.mjs"), "--no-build", "--port", "0", "--dashboard-port", "0", "--data", dataDir],
      { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    launcher = child;
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    urls = await waitFor(
      () => {
        const dashboard = /dashboard {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        const hub = /hub {8}(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        return dashboard !== undefined && hub !== undefined ? { dashboard, hub } : undefined;
      },
      { timeoutMs: 90_000, what: `both URLs from npm start (output so far:\n${output})` },
    );
  }, 120_000);

  afterAll(() => {
    if (launcher?.exitCode === null) launcher.kill("SIGKILL");
  });

  it("serves hub and dashboard, and sends sign-in links to a file the sign-in page names", async () => {
    expect(output).toContain(`the link is written to ${linksFile}`);
    expect((await fetch(`${urls.hub}/healthz`)).status).toBe(200);

    // The sign-in page knows where the link goes; asking for one through the dashboard puts it there.
    expect(await (await fetch(`${urls.dashboard}/sign-in`)).text()).toContain(linksFile);
    const requested = await fetch(`${urls.dashboard}/trpc/auth.requestMagicLink`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: urls.dashboard },
      body: JSON.stringify({ email: "local@example.com" }),
    });
    expect(requested.status).toBe(200);
    const link = await signInLinkFor("local@example.com", 0);
    expect(link.startsWith(`${urls.dashboard}/auth/verify?token=`)).toBe(true);
    const token = new URL(link).searchParams.get("token");
    const verified = await fetch(`${urls.dashboard}/trpc/auth.verifyMagicLink`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: urls.dashboard },
      body: JSON.stringify({ token }),
    });
    expect(verified.status).toBe(200);
    expect(verified.headers.getSetCookie().join()).toMatch(/^pc_session=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
  });

  it("one visitor spraying sign-in requests from 20 addresses does not lock out a bystander on another", async () => {
    // Before the dashboard passed on its visitors' addresses, these 20 all counted against the
    // dashboard's own address, and the bystander's first request was refused for 15 minutes.
    for (let host = 2; host < 2 + SIGN_IN_LINKS_PER_ADDRESS; host += 1) {
      const answer = await requestLink(`127.0.1.${host}`);
      expect(answer.status, answer.text).toBe(200);
    }
    const bystander = await requestLink("127.0.2.1");
    expect(bystander.status, bystander.text).toBe(200);
  });

  it("a browser's own X-Forwarded-For/-Proto/-Host change neither its rate-limit bucket nor its audited address", async () => {
    const attacker = "127.0.0.30";
    // A new X-Forwarded-For per request would be a fresh budget each time, if it were believed.
    const forged = (n: number) => ({
      "x-forwarded-for": `198.51.100.${n}`,
      "x-forwarded-proto": "https",
      "x-forwarded-host": `forged-${n}.example`,
    });
    for (let n = 1; n <= SIGN_IN_LINKS_PER_ADDRESS; n += 1) {
      const answer = await requestLink(attacker, forged(n));
      expect(answer.status, answer.text).toBe(200);
    }
    const refused = await requestLink(attacker, forged(99));
    expect(refused.status, refused.text).toBe(429);
    expect(refused.text).toMatch(/Too many sign-in links requested from your network: try again in \d+ minutes/);

    // Signing in with forged headers: the audit log records the address the dashboard saw.
    const signer = "127.0.0.31";
    const before = await linkCount();
    expect((await requestLink(signer, forged(1), "local@example.com")).status).toBe(200);
    const token = new URL(await signInLinkFor("local@example.com", before)).searchParams.get("token");
    const verified = await send(`${urls.dashboard}/trpc/auth.verifyMagicLink`, {
      from: signer,
      headers: { origin: urls.dashboard, ...forged(2) },
      body: { token },
    });
    expect(verified.status, verified.text).toBe(200);
    const cookie = String(verified.headers["set-cookie"]?.[0]).split(";")[0] ?? "";
    const me = JSON.parse((await send(`${urls.dashboard}/trpc/auth.me`, { from: signer, headers: { cookie } })).text) as {
      result: { data: { workspaces: { id: string }[] } };
    };
    const workspaceId = me.result.data.workspaces[0]?.id ?? "";
    // Pages read from the hub on the server, speaking for the same visitor: signed in, / leads on.
    const home = await send(`${urls.dashboard}/`, { from: signer, headers: { cookie } });
    expect(home.status).toBe(307);
    expect(home.headers.location).toMatch(/^\/w\/[a-z0-9-]+$/);
    const input = encodeURIComponent(JSON.stringify({ type: "user", action: "login" }));
    const audit = await send(`${urls.dashboard}/trpc/audit.list?input=${input}`, {
      from: signer,
      headers: { cookie, "x-pc-workspace": workspaceId },
    });
    expect(audit.status, audit.text).toBe(200);
    const events = (JSON.parse(audit.text) as { result: { data: { events: { ip: string | null }[] } } }).result.data.events;
    // Newest first: this sign-in, then the first test's from the launcher's own fetch.
    expect(events.map((event) => event.ip)).toEqual([signer, "127.0.0.1"]);
  });

  it("the hub refuses a request that names itself the dashboard with a wrong secret", async () => {
    const answer = await send(`${urls.hub}/trpc/auth.requestMagicLink`, {
      from: "127.0.0.40",
      headers: { "x-pc-front-end": "a-guess-at-the-dashboards-secret-0123456789", "x-forwarded-for": "198.51.100.1" },
      body: { email: freshEmail() },
    });
    expect(answer.status).toBe(403);
    expect(answer.text).toMatch(/front-end secret is not this hub's: give the dashboard the hub's FRONT_END_SECRET/);
    // The real one lives in the data directory, private to the user who runs the hub.
    const secret = (await readFile(join(dataDir, "front-end-secret"), "utf8")).trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(output).not.toContain(secret);
  });

  it("TRUST_PROXY=<address> believes X-Forwarded-For from that peer and from no other", async () => {
    // From the listed proxy, each forwarded client is its own budget: more than one network's worth passes.
    for (let n = 1; n <= SIGN_IN_LINKS_PER_ADDRESS + 2; n += 1) {
      const answer = await send(`${urls.hub}/trpc/auth.requestMagicLink`, {
        from: LISTED_PROXY,
        headers: { "x-forwarded-for": `198.51.100.${n}`, "x-forwarded-proto": "https" },
        body: { email: freshEmail() },
      });
      expect(answer.status, answer.text).toBe(200);
    }
    // A peer one address away is not listed: its X-Forwarded-For is its own say, and it is counted as itself.
    const unlisted = "127.0.0.6";
    const statuses: number[] = [];
    for (let n = 1; n <= SIGN_IN_LINKS_PER_ADDRESS + 1; n += 1) {
      const answer = await send(`${urls.hub}/trpc/auth.requestMagicLink`, {
        from: unlisted,
        headers: { "x-forwarded-for": `203.0.113.${n}`, "x-forwarded-proto": "https" },
        body: { email: freshEmail() },
      });
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([...Array<number>(SIGN_IN_LINKS_PER_ADDRESS).fill(200), 429]);
    // The operator hears about it, once, with the form that would fix it if that peer were theirs.
    const warnings = output.split("\n").filter((line) => line.includes("ignored X-Forwarded-For"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("list it: TRUST_PROXY=<its address or CIDR>");
  });

  it("the dashboard takes the same TRUST_PROXY: a listed proxy in front of it speaks for its visitors, nobody else does", async () => {
    // npm start gives the dashboard the hub's TRUST_PROXY: one proxy usually fronts both.
    const viaProxy = (n: number) => ({
      "x-forwarded-for": `198.51.100.${100 + n}`,
      "x-forwarded-proto": "https",
      "x-forwarded-host": "dash.example.test",
      origin: "https://dash.example.test",
    });
    for (let n = 1; n <= SIGN_IN_LINKS_PER_ADDRESS + 2; n += 1) {
      const answer = await requestLink(LISTED_PROXY, viaProxy(n));
      expect(answer.status, answer.text).toBe(200);
    }
    // The same headers from an unlisted peer: the Origin no longer matches, and the budget is the peer's.
    expect((await requestLink("127.0.0.7", viaProxy(1))).status).toBe(403);
    const statuses: number[] = [];
    for (let n = 1; n <= SIGN_IN_LINKS_PER_ADDRESS + 1; n += 1) {
      const { origin: _origin, "x-forwarded-host": _host, ...forged } = viaProxy(n);
      statuses.push((await requestLink("127.0.0.7", forged)).status);
    }
    expect(statuses).toEqual([...Array<number>(SIGN_IN_LINKS_PER_ADDRESS).fill(200), 429]);
  });

  it("a live link's host on the dashboard's port is a dashboard request, never the link", async () => {
    const service = createServer((request, response) => response.end(`the linked service answered ${request.url}`));
    service.listen(0, "127.0.0.1");
    await once(service, "listening");
    try {
      const hub = { url: urls.hub, port: Number(new URL(urls.hub).port), dataDir } as Hub;
      const { apiKey } = await createWorkspace(hub, "links", "links@example.test");
      const exposer = await startAgent({ hub, apiKey, label: "web" });
      try {
        const servicePort = (service.address() as AddressInfo).port;
        expectSuccess(await exposer.run(["expose", `127.0.0.1:${servicePort}`, "--name", "web"]));
        const link = parseJsonOutput<{ url: string }>(expectSuccess(await exposer.run(["link", "web", "--json"])));
        const slug = /\/l\/([a-z2-7]{26})\/$/.exec(link.url)?.[1] ?? "";
        const dashboardPort = new URL(urls.dashboard).port;
        const onHubPort = `${slug}.localhost:${new URL(urls.hub).port}`;
        const onDashboardPort = `${slug}.localhost:${dashboardPort}`;

        // The link is live: its host on the hub's port reaches the service.
        const served = await send(`${urls.hub}/trpc/auth.me`, { from: "127.0.0.50", headers: { host: onHubPort } });
        expect(served.text).toBe("the linked service answered /trpc/auth.me");
        // Opened on the dashboard's port, the same host gets the dashboard: its /trpc reaches the
        // hub's API (signed out: UNAUTHORIZED), its pages are its own, the service never answers.
        const viaDashboard = await send(`${urls.dashboard}/trpc/auth.me`, {
          from: "127.0.0.50",
          headers: { host: onDashboardPort },
        });
        expect(viaDashboard.text).not.toContain("the linked service");
        expect(viaDashboard.status, viaDashboard.text).toBe(401);
        const page = await send(`${urls.dashboard}/sign-in`, { from: "127.0.0.50", headers: { host: onDashboardPort } });
        expect(page.text).not.toContain("the linked service");
        expect(page.text).toContain(linksFile);
        // Sent to the hub itself, a Host naming the dashboard's port is not the link either.
        const direct = await send(`${urls.hub}/`, { from: "127.0.0.50", headers: { host: onDashboardPort } });
        expect(direct.text).not.toContain("the linked service");
        expect(direct.status).toBe(404);
      } finally {
        await exposer.down();
      }
    } finally {
      service.closeAllConnections();
      await new Promise((resolve) => service.close(resolve));
    }
  }, 90_000);

  it("refuses an Origin that matches only a forged X-Forwarded-Host", async () => {
    const answer = await requestLink("127.0.0.60", { origin: "http://evil.example", "x-forwarded-host": "evil.example" });
    expect(answer.status).toBe(403);
    expect(answer.text).toMatch(/Cross-site request refused/);
  });

  it("stops both on Ctrl-C", async () => {
    launcher?.kill("SIGINT");
    expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 30_000))])).toBe(0);
    await expect(fetch(`${urls.dashboard}/sign-in`)).rejects.toThrow();
    await expect(fetch(`${urls.hub}/healthz`)).rejects.toThrow();
  }, 40_000);
});
