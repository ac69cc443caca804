/// <reference lib="dom" />
// (Callbacks passed to page.evaluate run in the browser, with its globals.)
// The dashboard (apps/web, built by `npm run build`) as a real process (apps/web/server.mjs), and a real
// Chromium driven through playwright-core: Debian's /usr/bin/chromium, never a downloaded one.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { findFreePort } from "./net.ts";
import { REPO_ROOT } from "./processes.ts";

export const WEB_DIR = join(REPO_ROOT, "apps", "web");
export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOT_DIR = join(REPO_ROOT, "test-results", "screenshots");
/** The dashboard's own server (Next.js behind a peer-address stamp), as npm start runs it. */
const WEB_SERVER = join(WEB_DIR, "server.mjs");
const LOG_LIMIT = 1024 * 1024;

export interface Dashboard {
  url: string;
  port: number;
  process: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

/** A free port for the dashboard, chosen before the hub starts: the hub's sign-in links need it. */
export async function reserveDashboardUrl(): Promise<{ url: string; port: number }> {
  const port = await findFreePort();
  return { url: `http://127.0.0.1:${port}`, port };
}

/** The built dashboard (apps/web/server.mjs) on `port`, talking to `hubUrl`; resolves once it answers. */
export async function startDashboard(options: {
  port: number;
  hubUrl: string;
  env?: Record<string, string | undefined>;
}): Promise<Dashboard> {
  if (!existsSync(join(WEB_DIR, ".next", "BUILD_ID"))) {
    throw new Error("apps/web is not built: run `npm run build` at the repository root first (npm test does)");
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("VITEST") || key === "NODE_OPTIONS" || key === "NODE_ENV" || key === "DATABASE_URL") continue;
    env[key] = value;
  }
  Object.assign(env, { HUB_URL: options.hubUrl, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" }, options.env);
  const child = spawn(process.execPath, [WEB_SERVER, "--port", String(options.port), "--hostname", "127.0.0.1"], {
    cwd: WEB_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const append = (chunk: Buffer) => {
    if (output.length < LOG_LIMIT) output += chunk.toString("utf8");
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the dashboard exited (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}/sign-in`, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the dashboard did not answer on ${url} within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, port: options.port, process: child, logs: () => output, stop };
}

/** Headless Debian Chromium; nothing it does reaches beyond loopback. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it when needed)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 740 };

/**
 * A browser context (its own cookie jar: one person) that collects what a healthy page never
 * produces: console errors (CSP violations, hydration mismatches) and uncaught script errors.
 */
export async function openContext(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; problems: string[] }> {
  const context = await browser.newContext({ baseURL, viewport: DESKTOP });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  const problems: string[] = [];
  context.on("console", (message) => {
    const text = message.text();
    // Failed loads are answers the tests provoke (404 pages, refused calls); anything else
    // logged as an error (a CSP violation, a hydration mismatch, a React error) is a defect.
    if (message.type() === "error" && !text.startsWith("Failed to load resource")) problems.push(text);
  });
  context.on("weberror", (error) => problems.push(String(error.error())));
  return { context, problems };
}

/** The page as it looks at desktop width and at 375 px, saved as <name>-desktop.png and <name>-375.png. */
export async function screenshotBothWidths(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  // Nothing may stick out sideways at 375 px: that is what "works on a phone" means here.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 1) throw new Error(`${name}: the page is ${overflow} px wider than a 375 px screen`);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-375.png`), fullPage: true });
  await page.setViewportSize(original);
}
