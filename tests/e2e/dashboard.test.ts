/// <reference lib="dom" />
// (Callbacks passed to page.evaluate run in the browser, with its globals.)
// The dashboard end to end: a real hub (sign-in links mailed to a real SMTP server), the built
// Next.js dashboard under `next start`, real agents, and Debian's Chromium driving the pages as
// a person would. Each page is saved as a screenshot at desktop width and at 375 px.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type net from "node:net";
import { join } from "node:path";
import { findSignInLink, type SmtpInbox, startSmtpInbox } from "@private-connect/api/test-support/smtp-inbox";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Dashboard,
  launchBrowser,
  openContext,
  reserveDashboardUrl,
  screenshotBothWidths,
  startDashboard,
} from "../support/browser.ts";
import { connectTcp, findFreePort, LOOPBACK, startEchoServer, type TestServer, waitFor, waitForClose } from "../support/net.ts";
import {
  AGENT_BIN,
  type Agent,
  createWorkspace,
  expectSuccess,
  type Hub,
  isAlive,
  makeTempDir,
  parseJsonOutput,
  startAgent,
  startHub,
  waitForPidExit,
} from "../support/processes.ts";

const OWNER = "owner@acme.test";
const OUTSIDER = "eve@rival.test";
/** A new address the owner invites; accepted in the dashboard. */
const COLLEAGUE = "colleague@acme.test";

describe("the dashboard", () => {
  let inbox: SmtpInbox;
  let hub: Hub;
  let web: Dashboard;
  let browser: Browser;
  let owner: { context: BrowserContext; problems: string[]; page: Page };
  /** The owner's workspace, created by their first sign-in. */
  let slug: string;
  let apiKey: string;
  let server: Agent;
  let echo: TestServer;
  let httpService: { server: Server; port: number; streams: Set<ServerResponse> };
  const cleanups: Array<() => Promise<unknown>> = [];

  /** Every success and error message the page shows right now, joined. */
  const notices = (page: Page) =>
    page
      .locator(".notice")
      .allTextContents()
      .then((texts) => texts.join(" | "));

  /** Requests a link on the sign-in page and returns the one the SMTP server received. */
  async function requestLink(page: Page, email: string): Promise<string> {
    const before = inbox.messages.length;
    // Stay on a sign-in page that is already open: it may carry where to return (?next=).
    if (new URL(page.url()).pathname !== "/sign-in") await page.goto("/sign-in");
    await page.getByLabel("Email address").fill(email);
    await page.getByRole("button", { name: "Email me a sign-in link" }).click();
    await expect.poll(() => notices(page)).toContain(`Sign-in link sent to ${email}`);
    const mail = await waitFor(() => inbox.messages.slice(before).find((message) => message.to.includes(email)), {
      what: `the sign-in mail to ${email}`,
    });
    return findSignInLink(mail);
  }

  /** Opens the emailed link and clicks "Sign in"; resolves on the workspace page it leads to. */
  async function signIn(page: Page, email: string): Promise<string> {
    const link = await requestLink(page, email);
    expect(link.startsWith(`${web.url}/auth/verify?token=`), `the link opens the dashboard: ${link}`).toBe(true);
    await page.goto(link);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/w\/[a-z0-9-]+$/);
    return new URL(page.url()).pathname.split("/")[2] ?? "";
  }

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    cleanups.push(() => inbox.close());
    const dashboard = await reserveDashboardUrl();
    hub = await startHub({ env: { SMTP_URL: inbox.url, DASHBOARD_URL: dashboard.url } });
    web = await startDashboard({ port: dashboard.port, hubUrl: hub.url, env: { PUBLIC_HUB_URL: hub.url } });
    cleanups.push(() => web.stop());
    browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const opened = await openContext(browser, web.url);
    owner = { ...opened, page: await opened.context.newPage() };
    echo = await startEchoServer();
    httpService = await startHttpService();
    cleanups.push(() => new Promise((resolve) => httpService.server.close(resolve)));
  }, 180_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => console.warn(`cleanup: ${String(error)}`));
  });

  it("signs in with the link from the email, with an HttpOnly session cookie and strict security headers", async () => {
    const { page } = owner;
    // Signed out, the front door leads to sign-in.
    await page.goto("/");
    await page.waitForURL(/\/sign-in$/);
    await screenshotBothWidths(page, "sign-in");

    const link = await requestLink(page, OWNER);
    await page.goto(link);
    await screenshotBothWidths(page, "verify");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/w\/[a-z0-9-]+$/);
    slug = new URL(page.url()).pathname.split("/")[2] ?? "";
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("owner");

    const cookies = await owner.context.cookies();
    const session = cookies.find((cookie) => cookie.name === "pc_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
    expect(await page.evaluate(() => document.cookie)).not.toContain("pc_session");

    // The link works once.
    const reused = await owner.context.newPage();
    await reused.goto(link.replace(web.url, ""));
    await reused.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => notices(reused)).toMatch(/link/i);
    await reused.close();

    // An empty workspace says how to start an agent.
    await expect.poll(() => page.getByText("No agent has connected to this workspace yet").count()).toBe(1);
    expect(await page.locator("code", { hasText: `connect up --hub ${hub.url} --api-key` }).count()).toBe(1);
    await screenshotBothWidths(page, "overview-empty");

    const response = await fetch(`${web.url}/sign-in`);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}' 'strict-dynamic'/);
    expect(csp).not.toContain("unsafe-inline");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("same-origin");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
  });

  it("creates an API key shown once with a copy button, which the CLI then uses to start an agent", async () => {
    const { page } = owner;
    await page.goto(`/w/${slug}/api-keys`);
    await page.getByLabel("Name (where it will be used)").fill("servers");
    await page.getByRole("button", { name: "Create key" }).click();
    await expect.poll(() => notices(page)).toContain("API key servers created");
    apiKey = (await page.getByTestId("revealed-secret").textContent()) ?? "";
    expect(apiKey).toMatch(/^pc_[A-Za-z0-9]{32}$/);
    await page.getByRole("button", { name: "Copy API key servers" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(apiKey);
    await expect.poll(() => page.locator("[data-key=servers]").count()).toBe(1);
    await screenshotBothWidths(page, "api-keys");

    // Open the overview, then start the agent: it must appear without a reload.
    await page.goto(`/w/${slug}`);
    await page.evaluate(() => {
      (window as unknown as { stayedOnPage: boolean }).stayedOnPage = true;
    });
    server = await startAgent({ hub, apiKey, label: "server" });
    const row = page.locator("[data-agent=server]");
    await expect.poll(() => row.getByTestId("agent-status").textContent(), { timeout: 15_000 }).toBe("Online");
    expect(await page.evaluate(() => (window as unknown as { stayedOnPage?: boolean }).stayedOnPage)).toBe(true);
    // Its client type and its address, masked (recorded as it connected: a fresh render has them).
    await expect
      .poll(
        async () => {
          await page.reload();
          return row.textContent();
        },
        { timeout: 15_000 },
      )
      .toMatch(/127\.0\.x\.x/);
    expect(await row.textContent()).toContain("cli");
    expect(await row.textContent()).not.toMatch(/127\.0\.0\.1/);

    // The key's last use shows on the keys page.
    await page.goto(`/w/${slug}/api-keys`);
    expect(await page.locator("[data-key=servers] td[data-label='Last used']").textContent()).not.toBe("never");
  });

  it("sees an agent go online and offline live as connect up starts and connect down stops it", async () => {
    const { page } = owner;
    await page.goto(`/w/${slug}`);
    await page.evaluate(() => {
      (window as unknown as { stayedOnPage: boolean }).stayedOnPage = true;
    });
    expectSuccess(await server.run(["expose", echo.address, "--name", "cache"]));
    expectSuccess(await server.run(["expose", `${LOOPBACK}:${httpService.port}`, "--name", "web"]));
    await expect.poll(() => page.locator("[data-service=cache]").count(), { timeout: 15_000 }).toBe(1);

    const laptop = await startAgent({ hub, apiKey, label: "laptop" });
    const row = page.locator("[data-agent=laptop]");
    await expect.poll(() => row.getByTestId("agent-status").textContent(), { timeout: 15_000 }).toBe("Online");
    // A connection through the relay shows on the service's row.
    const reached = parseJsonOutput<{ port: number }>(
      expectSuccess(await laptop.run(["reach", "cache", "--port", String(await findFreePort()), "--json"])),
    );
    const socket = await connectTcp(reached.port);
    socket.write("ping");
    await waitFor(() => socket.bytesRead >= 4, { what: "the echo through the relay" });
    await expect
      .poll(() => page.locator("[data-service=cache]").getByTestId("open-connections").textContent(), { timeout: 15_000 })
      .toBe("1");
    await screenshotBothWidths(page, "overview");

    expectSuccess(await laptop.down());
    await expect.poll(() => row.getByTestId("agent-status").textContent(), { timeout: 15_000 }).toBe("Offline");
    await waitForClose(socket, 10_000);
    expect(await page.evaluate(() => (window as unknown as { stayedOnPage?: boolean }).stayedOnPage)).toBe(true);
  });

  it("creates a share, a contractor joins and uses it, and revoking it in the browser cuts the live connection", async () => {
    const { page } = owner;
    const contractor = await createWorkspace(hub, "contractor", "dev@contractor.test");
    const outsideLaptop = await startAgent({ hub, apiKey: contractor.apiKey, label: "contractor-laptop" });

    await page.goto(`/w/${slug}/shares`);
    await page.getByLabel("Name").fill("acme-contractor");
    await page.getByLabel("cache").check();
    await page.getByLabel("Expires after").selectOption({ label: "1 day" });
    await page.getByLabel("Rate limit (new connections per minute, optional)").fill("100");
    await page.getByRole("button", { name: "Create share" }).click();
    await expect.poll(() => notices(page)).toContain("Share acme-contractor created for cache");
    const code = (await page.getByTestId("revealed-secret").textContent()) ?? "";
    expect(code).toMatch(/^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$/);

    expectSuccess(await outsideLaptop.run(["join", code]));
    const reached = parseJsonOutput<{ port: number }>(
      expectSuccess(await outsideLaptop.run(["reach", "cache", "--port", String(await findFreePort()), "--json"])),
    );
    const socket = await connectTcp(reached.port);
    socket.write("through the share");
    await waitFor(() => socket.bytesRead >= 17, { what: "the echo through the share" });

    await page.reload();
    const row = page.locator("[data-share=acme-contractor]");
    await expect.poll(() => row.textContent()).toContain("contractor-laptop");
    await screenshotBothWidths(page, "shares");

    // The service page names who is connected and through what.
    await page.goto(`/w/${slug}/services/cache`);
    await expect.poll(() => page.getByTestId("open-connections").textContent(), { timeout: 15_000 }).toBe("1");
    expect(await page.locator("td", { hasText: "share acme-contractor" }).count()).toBe(1);
    expect(await page.locator("code", { hasText: "connect reach cache" }).count()).toBeGreaterThan(0);
    await screenshotBothWidths(page, "service");

    await page.goto(`/w/${slug}/shares`);
    await row.getByRole("button", { name: "Revoke share acme-contractor" }).click();
    await row.getByRole("button", { name: "Yes, revoke share acme-contractor" }).click();
    await expect.poll(() => row.locator(".notice").textContent()).toContain("Revoked share acme-contractor");
    const closed = await waitForClose(socket, 10_000);
    expect(closed.ms).toBeLessThan(10_000);
    await expect.poll(() => row.textContent()).toContain("revoked");

    // And nothing new gets through it.
    const again = await connectTcp(reached.port);
    again.write("after");
    const outcome = await waitForClose(again, 10_000);
    expect(outcome.bytes).toBe(0);

    // Closed connections still count in the bytes relayed: 4 + 17 bytes echoed, both ways, as the
    // hub relayed them: end to end, each of those four writes a record with a 16-byte tag.
    await page.goto(`/w/${slug}`);
    const cache = page.locator("[data-service=cache]");
    await expect.poll(() => cache.getByTestId("open-connections").textContent(), { timeout: 15_000 }).toBe("0");
    expect(await cache.locator("td[data-label='Bytes relayed']").textContent()).toBe(`${2 * (4 + 17) + 4 * 16} B`);
  });

  it("creates a public link, serves it, shows its requests, and revoking it cuts a live request", async () => {
    const { page } = owner;
    await page.goto(`/w/${slug}/links`);
    await page.getByLabel("Service").selectOption("web");
    await page.getByLabel("GET", { exact: true }).check();
    await page.getByLabel(/Path prefixes/).fill("/hello, /stream");
    await page.getByRole("button", { name: "Create link" }).click();
    await expect.poll(() => notices(page)).toContain("Link to web created");
    const url = (await page.getByTestId("revealed-secret").textContent()) ?? "";
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/l\/[a-z2-7]{26}\/$/);

    const hello = await fetch(`${url}hello`);
    expect(hello.status).toBe(200);
    expect(await hello.text()).toBe("hello from web");
    expect((await fetch(`${url}admin`)).status).toBe(403);
    expect((await fetch(`${url}hello`, { method: "POST" })).status).toBe(405);

    // A live request: the service has sent its first chunk and keeps the response open.
    const streaming = await fetch(`${url}stream`);
    expect(streaming.status).toBe(200);
    const reader = streaming.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toBe("first chunk\n");

    await page.reload();
    const row = page.locator("tr", { hasText: "web" }).first();
    await expect.poll(() => row.getByTestId("access-count").textContent(), { timeout: 15_000 }).toMatch(/^[1-9]/);
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain("GET /hello");
    expect(await row.textContent()).toMatch(/127\.0\.x\.x/);
    await screenshotBothWidths(page, "links");

    await row.getByRole("button", { name: /^Revoke link/ }).click();
    await row.getByRole("button", { name: /^Yes, revoke link/ }).click();
    await expect.poll(() => row.locator(".notice").textContent()).toContain("Revoked the link to web");
    // The open response ends (cut, or closed short) instead of waiting for the service.
    const cut = await Promise.race([
      (async () => {
        try {
          for (;;) {
            const chunk = await reader?.read();
            if (chunk === undefined || chunk.done) return "ended";
          }
        } catch {
          return "cut";
        }
      })(),
      new Promise((resolve) => setTimeout(() => resolve("still open"), 10_000)),
    ]);
    expect(cut).not.toBe("still open");
    expect((await fetch(`${url}hello`)).status).toBe(404);
  });

  it("shows each service's end-to-end policy and each open stream's encryption, and lets the owner require it", async () => {
    const { page } = owner;
    await page.goto(`/w/${slug}`);
    const cache = page.locator("[data-service=cache]");
    await expect.poll(() => cache.getByTestId("e2e-policy").textContent()).toBe("preferred");

    await page.goto(`/w/${slug}/settings`);
    expect(await page.getByLabel("Preferred").isChecked()).toBe(true);
    await page.getByLabel("Required").check();
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => notices(page)).toContain("End-to-end encryption is now required for every service");
    await screenshotBothWidths(page, "settings");
    // Every service is held to it now, whatever its agent asked for.
    await page.goto(`/w/${slug}`);
    await expect.poll(() => cache.getByTestId("e2e-policy").textContent()).toBe("required");
    await page.goto(`/w/${slug}/services/cache`);
    expect(await page.getByTestId("e2e-policy").textContent()).toContain("end-to-end encrypted between the agents");

    await page.goto(`/w/${slug}/settings`);
    await page.getByLabel("Preferred").check();
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => notices(page)).toContain("End-to-end encryption is now preferred");

    // An open stream says whether the hub relays it as ciphertext (the relay reports it).
    const laptop = await startAgent({ hub, apiKey, label: "e2e-laptop" });
    const reached = parseJsonOutput<{ port: number }>(
      expectSuccess(await laptop.run(["reach", "cache", "--port", String(await findFreePort()), "--json"])),
    );
    const socket = await connectTcp(reached.port);
    socket.write("ping");
    await waitFor(() => socket.bytesRead >= 4, { what: "the echo through the relay" });
    await page.goto(`/w/${slug}/services/cache`);
    await expect.poll(() => page.getByTestId("open-connections").textContent(), { timeout: 15_000 }).toBe("1");
    expect(await page.getByTestId("stream-encryption").textContent()).toMatch(/^(end to end|plaintext)$/);
    await screenshotBothWidths(page, "service-e2e");
    socket.destroy();
    expectSuccess(await laptop.down());
    expect(owner.problems).toEqual([]);
  });

  it("revokes an agent from its row, and revoking a key lists the agents it registered and revokes them unless kept", async () => {
    const { page } = owner;
    const createKey = async (name: string) => {
      await page.goto(`/w/${slug}/api-keys`);
      await page.getByLabel("Name (where it will be used)").fill(name);
      await page.getByRole("button", { name: "Create key" }).click();
      await expect.poll(() => notices(page)).toContain(`API key ${name} created`);
      return (await page.getByTestId("revealed-secret").textContent()) ?? "";
    };
    const ciKey = await createKey("ci");
    const keepKey = await createKey("keeper");
    const [first, second, kept] = await Promise.all([
      startAgent({ hub, apiKey: ciKey, label: "ci-1" }),
      startAgent({ hub, apiKey: ciKey, label: "ci-2" }),
      startAgent({ hub, apiKey: keepKey, label: "kept" }),
    ]);
    // Read now: a stopped agent removes its pid file.
    const [firstPid, secondPid] = [first.pid(), second.pid()];
    expect(firstPid).not.toBeNull();
    expect(secondPid).not.toBeNull();
    const tokenOf = (agent: Agent) =>
      (JSON.parse(readFileSync(join(agent.configDir, "identity.json"), "utf8")) as { token: string }).token;
    const isTokenAccepted = async (agent: Agent) =>
      (await fetch(`${hub.url}/trpc/agents.me`, { headers: { authorization: `Bearer ${tokenOf(agent)}` } })).status !== 401;

    // The row says what let the agent in; Revoke asks first.
    await page.goto(`/w/${slug}`);
    const row = page.locator("[data-agent=ci-1]");
    await expect.poll(() => row.getByTestId("agent-status").textContent(), { timeout: 15_000 }).toBe("Online");
    expect(await row.getByTestId("agent-created-by").textContent()).toBe("key ci");
    await row.getByRole("button", { name: "Revoke agent ci-1" }).click();
    await screenshotBothWidths(page, "agent-revoke");
    await row.getByRole("button", { name: "Yes, revoke agent ci-1" }).click();
    await expect.poll(() => notices(page)).toContain("Revoked agent ci-1: its connection to the hub is closed");
    await expect.poll(() => page.locator("[data-agent=ci-1]").count(), { timeout: 15_000 }).toBe(0);
    // The agent process stops on its own (the hub cut it), and its token is refused from now on.
    expect(await waitForPidExit(firstPid ?? 0, 10_000)).toBe(true);
    expect(await isTokenAccepted(first)).toBe(false);
    expect(await page.locator("[data-agent=ci-2]").count()).toBe(1);

    // Revoking the key: the confirmation names the agents still registered with it.
    await page.goto(`/w/${slug}/api-keys`);
    const ciRow = page.locator("[data-key=ci]");
    await ciRow.getByRole("button", { name: "Revoke key ci" }).click();
    await expect.poll(() => ciRow.getByTestId("key-agents").textContent()).toContain("ci-2");
    expect(await ciRow.getByTestId("key-agents").textContent()).not.toContain("ci-1");
    await screenshotBothWidths(page, "api-key-revoke");
    await ciRow.getByRole("button", { name: "Yes, revoke key ci" }).click();
    await expect.poll(() => notices(page)).toContain("Revoked key ci and the agent it registered (ci-2)");
    expect(await waitForPidExit(secondPid ?? 0, 10_000)).toBe(true);
    expect(await isTokenAccepted(second)).toBe(false);

    // ... unless the owner keeps them.
    const keeperRow = page.locator("[data-key=keeper]");
    await keeperRow.getByRole("button", { name: "Revoke key keeper" }).click();
    await keeperRow.getByLabel("Keep this agent working").check();
    await keeperRow.getByRole("button", { name: "Yes, revoke key keeper" }).click();
    await expect.poll(() => notices(page)).toContain("Revoked key keeper: it stops working with its next request; the agents");
    expect(await isTokenAccepted(kept)).toBe(true);
    expect(isAlive(kept.pid() ?? 0)).toBe(true);
    await page.goto(`/w/${slug}`);
    await expect.poll(() => page.locator("[data-agent=kept]").getByTestId("agent-status").textContent()).toBe("Online");
    expectSuccess(await kept.down());
    expect(owner.problems).toEqual([]);
  });

  it("approves a device login from the page connect login points to", async () => {
    const { page } = owner;
    const configDir = join(await makeTempDir("agent-login"), "config");
    const login = spawn(process.execPath, [AGENT_BIN, "login", "--hub", hub.url, "--label", "build-box", "--config", configDir], {
      env: { PATH: process.env.PATH, HOME: configDir, CONNECT_HOME: configDir, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    login.stdout.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    login.stderr.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    const exited = new Promise<number | null>((resolve) => login.once("exit", (code) => resolve(code)));
    cleanups.push(async () => {
      if (login.exitCode === null) login.kill("SIGKILL");
    });
    const verificationUrl = await waitFor(() => /https?:\/\/\S+\/device\?code=\S+/.exec(output)?.[0], {
      timeoutMs: 30_000,
      what: `the approval URL from connect login (output so far: ${output})`,
    });
    expect(verificationUrl.startsWith(`${web.url}/device?code=`)).toBe(true);

    await page.goto(verificationUrl);
    const code = new URL(verificationUrl).searchParams.get("code") ?? "";
    expect(await page.getByLabel("Code shown by connect login").inputValue()).toBe(code);
    await screenshotBothWidths(page, "device");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => notices(page)).toContain("Approved: build-box is now an agent of owner");
    expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("running"), 30_000))])).toBe(0);
    expect(output).toContain("Logged in: agent build-box");
  });

  it("shows the audit log filtered by type and action, and manages members", async () => {
    const { page } = owner;
    await page.goto(`/w/${slug}/audit`);
    await page.getByLabel("Type").selectOption("share");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/type=share/);
    const table = page.getByTestId("audit-table");
    await expect.poll(() => table.textContent()).toContain("revoke");
    expect(await table.textContent()).toContain("create");
    const types = await table.locator("td[data-label=Type]").allTextContents();
    expect(new Set(types)).toEqual(new Set(["share"]));
    await page.getByLabel("Action").selectOption("revoke");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/action=revoke/);
    expect(new Set(await table.locator("td[data-label=Action]").allTextContents())).toEqual(new Set(["revoke"]));
    await screenshotBothWidths(page, "audit");

    await page.goto(`/w/${slug}/members`);
    await page.getByLabel("Email address").fill(COLLEAGUE);
    await page.getByRole("button", { name: "Invite" }).click();
    await expect.poll(() => notices(page)).toContain(`Invited ${COLLEAGUE} as member`);
    // Pending, not a member: listed as an invitation until they accept it themselves.
    await expect.poll(() => page.locator(`[data-invitation='${COLLEAGUE}']`).count()).toBe(1);
    expect(await page.locator(`[data-member='${COLLEAGUE}']`).count()).toBe(0);
    await waitFor(() => inbox.messages.find((message) => message.to.includes(COLLEAGUE)), { what: "the invitation" });
    // A readable error for a mistake.
    await page.getByLabel("Email address").fill(OWNER);
    await page.getByRole("button", { name: "Invite" }).click();
    await expect.poll(() => notices(page)).toContain("already a member");
    // An owner takes an invitation back: it is gone, and can no longer be accepted.
    await page.getByLabel("Email address").fill("typo@acme.test");
    await page.getByRole("button", { name: "Invite" }).click();
    await expect.poll(() => page.locator("[data-invitation='typo@acme.test']").count()).toBe(1);
    await screenshotBothWidths(page, "members");
    await page.getByRole("button", { name: "Cancel invitation of typo@acme.test" }).click();
    await page.getByRole("button", { name: "Yes, cancel invitation of typo@acme.test" }).click();
    await expect.poll(() => notices(page)).toContain("Cancelled the invitation of typo@acme.test");
    await expect.poll(() => page.locator("[data-invitation='typo@acme.test']").count()).toBe(0);
    expect(owner.problems).toEqual([]);
  });

  it("lets the invitee accept in the dashboard, only then opens the workspace to them, and tells their open tab when removed", async () => {
    const invitee = await openContext(browser, web.url);
    cleanups.push(() => invitee.context.close());
    const page = await invitee.context.newPage();
    // Signing in with the invitation's link lands on the invitation, not in the workspace.
    const link = await requestLink(page, COLLEAGUE);
    await page.goto(link);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/invitations$/);
    const item = page.locator(`[data-invitation='${slug}']`);
    await expect.poll(() => item.textContent()).toContain(`invited by ${OWNER}`);
    await screenshotBothWidths(page, "invitations");
    // Not a member yet: the workspace's pages are a 404, as for any outsider.
    expect((await page.goto(`/w/${slug}`))?.status()).toBe(404);
    expect((await page.goto(`/w/${slug}/members`))?.status()).toBe(404);

    await page.goto("/invitations");
    await page.getByRole("button", { name: "Accept invitation to owner" }).click();
    await page.waitForURL(new RegExp(`/w/${slug}$`));
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("owner");
    // Now a member, listed as one, and the invitation is used up.
    await owner.page.goto(`/w/${slug}/members`);
    await expect.poll(() => owner.page.locator(`[data-member='${COLLEAGUE}']`).count()).toBe(1);
    expect(await owner.page.locator(`[data-invitation='${COLLEAGUE}']`).count()).toBe(0);
    expect(await owner.page.locator(`[data-member='${COLLEAGUE}']`).textContent()).toContain("member");
    await page.goto("/");
    await page.waitForURL(new RegExp(`/w/${slug}$`));

    // Removed while the workspace is open in their tab: the page says so at once, without a
    // reload, instead of freezing on live updates that will never come.
    await expect.poll(() => page.locator(".live").textContent()).toBe("Live");
    await owner.page.getByRole("button", { name: `Remove ${COLLEAGUE}` }).click();
    await owner.page.getByRole("button", { name: `Yes, remove ${COLLEAGUE}` }).click();
    await expect.poll(() => notices(owner.page)).toContain(`Removed ${COLLEAGUE}`);
    await expect
      .poll(() => notices(page))
      .toContain("You no longer have access to owner: an owner removed you. Ask an owner to invite you again");
    expect(await page.locator(".live").textContent()).toBe("No access");
    expect(await page.getByRole("link", { name: "Go to your workspaces" }).getAttribute("href")).toBe("/");
    expect((await page.goto(`/w/${slug}`))?.status()).toBe(404);
    expect(invitee.problems).toEqual([]);
    expect(owner.problems).toEqual([]);
  });

  it("gives a user of another workspace 404 on this workspace's pages", async () => {
    const outsider = await openContext(browser, web.url);
    cleanups.push(() => outsider.context.close());
    const page = await outsider.context.newPage();
    const ownSlug = await signIn(page, OUTSIDER);
    expect(ownSlug).not.toBe(slug);

    for (const path of [
      `/w/${slug}`,
      `/w/${slug}/services/cache`,
      `/w/${slug}/shares`,
      `/w/${slug}/api-keys`,
      `/w/${slug}/audit`,
      `/w/${slug}/settings`,
    ]) {
      const response = await page.goto(path);
      expect(response?.status(), path).toBe(404);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Not found");
    }
    // A service name of the other workspace, asked in the outsider's own: the same 404.
    expect((await page.goto(`/w/${ownSlug}/services/cache`))?.status()).toBe(404);
    await screenshotBothWidths(page, "not-found");
    expect(outsider.problems).toEqual([]);
  });

  it("refuses cross-site requests that would use the owner's cookie", async () => {
    const { context, page } = owner;
    // A page on another port of 127.0.0.1 is the same *site*, so SameSite=Lax lets the cookie
    // ride along: only the Origin check and the JSON rule stand in the way.
    const attacker = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html" });
      response.end("<!doctype html><title>evil</title>");
    });
    await new Promise<void>((resolve) => attacker.listen(0, LOOPBACK, resolve));
    cleanups.push(() => new Promise((resolve) => attacker.close(resolve)));
    const attackerUrl = `http://${LOOPBACK}:${(attacker.address() as net.AddressInfo).port}/`;
    const evil = await context.newPage();
    await evil.goto(attackerUrl);
    const workspaceId = await page.evaluate(async (s) => {
      const response = await fetch("/trpc/auth.me");
      const body = (await response.json()) as { result: { data: { workspaces: { id: string; slug: string }[] } } };
      return body.result.data.workspaces.find((workspace) => workspace.slug === s)?.id ?? "";
    }, slug);
    const statuses = await evil.evaluate(
      async ({ target, id }) => {
        const attempt = async (contentType: string) => {
          try {
            const response = await fetch(`${target}/trpc/apiKeys.create`, {
              method: "POST",
              mode: "no-cors",
              credentials: "include",
              headers: { "content-type": contentType },
              body: JSON.stringify({ name: "stolen" }),
            });
            return response.type;
          } catch (error) {
            return String(error);
          }
        };
        // A form-like body, and a workspace header (which forces a preflight nobody approves).
        const simple = await attempt("text/plain");
        let withHeader: string;
        try {
          await fetch(`${target}/trpc/apiKeys.create`, {
            method: "POST",
            credentials: "include",
            headers: { "content-type": "application/json", "x-pc-workspace": id },
            body: JSON.stringify({ name: "stolen" }),
          });
          withHeader = "sent";
        } catch {
          withHeader = "blocked";
        }
        return { simple, withHeader };
      },
      { target: web.url, id: workspaceId },
    );
    expect(statuses.withHeader).toBe("blocked");
    await evil.close();
    // The browser's own report of that refusal is the attacker page's, not a fault of ours.
    const attackerOrigin = attackerUrl.slice(0, -1);
    expect(owner.problems.filter((problem) => problem.includes(`from origin '${attackerOrigin}'`))).toHaveLength(1);
    owner.problems.splice(0, owner.problems.length, ...owner.problems.filter((problem) => !problem.includes(attackerOrigin)));

    // The same request from a script with the stolen cookie and a foreign Origin: refused.
    const cookie = (await context.cookies()).find((c) => c.name === "pc_session");
    const forged = await fetch(`${web.url}/trpc/apiKeys.create`, {
      method: "POST",
      headers: {
        cookie: `pc_session=${cookie?.value}`,
        origin: attackerUrl.slice(0, -1),
        "content-type": "application/json",
        "x-pc-workspace": workspaceId,
      },
      body: JSON.stringify({ name: "stolen" }),
    });
    expect(forged.status).toBe(403);
    await page.goto(`/w/${slug}/api-keys`);
    expect(await page.locator("[data-key=stolen]").count()).toBe(0);

    // Nothing secret was left in script-readable storage along the way.
    const stored = await page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
    }));
    expect(stored).toEqual({ local: "{}", session: "{}" });
    expect(owner.problems).toEqual([]);
  });

  it("signs out, and after signing in again from a page that needed it, returns to that page", async () => {
    const { context, page } = owner;
    await page.goto(`/w/${slug}`);
    // Another tab of the same session: signing out here ends its live updates, and it says so.
    const otherTab = await context.newPage();
    await otherTab.goto(`/w/${slug}`);
    await expect.poll(() => otherTab.locator(".live").textContent()).toBe("Live");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in$/);
    await expect
      .poll(() => notices(otherTab))
      .toContain("Your session has expired or you signed out: sign in again with a new link");
    expect(await otherTab.getByRole("link", { name: "Sign in" }).getAttribute("href")).toBe("/sign-in");
    await otherTab.close();
    expect((await context.cookies()).some((cookie) => cookie.name === "pc_session")).toBe(false);
    await page.goto(`/w/${slug}/shares`);
    await page.waitForURL(/\/sign-in/);

    // The approval page of connect login, opened signed out: sign in, and land back on it.
    await page.goto("/device?code=ABCD-EFGH");
    await page.waitForURL(/\/sign-in\?next=/);
    const link = await requestLink(page, OWNER);
    await page.goto(link);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/device\?code=ABCD-EFGH$/);
    expect(await page.getByLabel("Code shown by connect login").inputValue()).toBe("ABCD-EFGH");
    // A code nobody started: a readable refusal, not a crash.
    await page.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => notices(page)).toMatch(/code/i);
    expect(owner.problems).toEqual([]);
  });
});

/** An HTTP service behind a public link: /hello answers, /stream sends a chunk and stays open. */
async function startHttpService(): Promise<{ server: Server; port: number; streams: Set<ServerResponse> }> {
  const streams = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    if (request.url?.startsWith("/stream")) {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write("first chunk\n");
      streams.add(response);
      response.on("close", () => streams.delete(response));
      return;
    }
    response.writeHead(200, { "content-type": "text/plain" });
    response.end("hello from web");
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const closeAll = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    for (const stream of streams) stream.destroy();
    return closeAll(callback);
  }) as typeof server.close;
  return { server, port: (server.address() as net.AddressInfo).port, streams };
}
