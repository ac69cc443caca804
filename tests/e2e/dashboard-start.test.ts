// `npm start` serves the hub and the dashboard together on the embedded default: this runs the
// launcher it ends in (scripts/start.mjs) as a user would, signs in through the dashboard with
// the link the hub leaves in its data directory, and stops both with Ctrl-C.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/net.ts";
import { makeTempDir, REPO_ROOT } from "../support/processes.ts";

describe("npm start", () => {
  let launcher: ChildProcess | undefined;

  afterAll(() => {
    if (launcher?.exitCode === null) launcher.kill("SIGKILL");
  });

  it("serves hub and dashboard, sends sign-in links to a file the sign-in page names, and stops both on Ctrl-C", async () => {
    const dataDir = join(await makeTempDir("start"), "data");
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (
        key.startsWith("VITEST") ||
        key.startsWith("CONNECT_") ||
        ["DATABASE_URL", "NODE_OPTIONS", "NODE_ENV", "SMTP_URL"].includes(key)
      ) {
        continue;
      }
      env[key] = value;
    }
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "scripts", "start.mjs"), "--port", "0", "--dashboard-port", "0", "--data", dataDir],
      { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    launcher = child;
    let output = "";
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      output += text;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    const urls = await waitFor(
      () => {
        const dashboard = /dashboard {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        const hub = /hub {8}(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        return dashboard !== undefined && hub !== undefined ? { dashboard, hub } : undefined;
      },
      { timeoutMs: 90_000, what: `both URLs from npm start (output so far:\n${output})` },
    );
    const linksFile = join(dataDir, "sign-in-links.log");
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
    const link = await waitFor(
      async () =>
        /https?:\/\/\S+\/auth\/verify\?token=[A-Za-z0-9_-]+/.exec(await readFile(linksFile, "utf8").catch(() => ""))?.[0],
      { what: "the sign-in link in the data directory" },
    );
    expect(link.startsWith(`${urls.dashboard}/auth/verify?token=`)).toBe(true);
    const token = new URL(link).searchParams.get("token");
    const verified = await fetch(`${urls.dashboard}/trpc/auth.verifyMagicLink`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: urls.dashboard },
      body: JSON.stringify({ token }),
    });
    expect(verified.status).toBe(200);
    expect(verified.headers.getSetCookie().join()).toMatch(/^pc_session=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);

    child.kill("SIGINT");
    expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 30_000))])).toBe(0);
    await expect(fetch(`${urls.dashboard}/sign-in`)).rejects.toThrow();
    await expect(fetch(`${urls.hub}/healthz`)).rejects.toThrow();
  }, 150_000);
});
