#!/usr/bin/env node
// `connect-hub-dashboard`: the hub and the dashboard together, on the embedded default (PGlite in
// ./.data, no external service). Starts `connect-hub start`, then the built dashboard wired to
// it, prints both URLs, and stops both on Ctrl-C (or when either one stops). The dashboard is
// found in this package's web/ (the installed hub tarball, see scripts/pack.mjs) or, in the
// repository, in apps/web next to apps/hub. The hub alone is still `connect-hub start`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const hubBin = join(packageDir, "bin", "connect-hub.js");
const webDir = [join(packageDir, "web"), join(packageDir, "..", "web")].find((dir) => existsSync(join(dir, "server.mjs")));

const usage = `connect-hub-dashboard [--port 3001] [--dashboard-port 3000] [--host 127.0.0.1] [--data ./.data]

Starts the hub (agents connect to it) and the dashboard (people sign in to it).
Environment: as for connect-hub start (DATABASE_URL, SMTP_URL, TRUST_PROXY, ...); DASHBOARD_URL is
set for the hub to the dashboard's address unless you set it yourself. The dashboard gets the
hub's front-end secret (FRONT_END_SECRET, or <data>/front-end-secret) and the same TRUST_PROXY.`;

function fail(message) {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

function readOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: "string", default: "3001" },
        "dashboard-port": { type: "string", default: "3000" },
        host: { type: "string", default: "127.0.0.1" },
        data: { type: "string", default: ".data" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    fail(`${error.message}\n\n${usage}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const port = (name) => {
    const value = Number(parsed.values[name]);
    if (!Number.isInteger(value) || value < 0 || value > 65535)
      fail(`Invalid --${name} "${parsed.values[name]}": use a number from 0 to 65535`);
    return value;
  };
  return {
    hubPort: port("port"),
    dashboardPort: port("dashboard-port"),
    host: parsed.values.host,
    dataDir: resolve(parsed.values.data),
  };
}

/** A free port when 0 was asked: the hub needs the dashboard's address before the dashboard starts. */
function choosePort(port, host) {
  if (port !== 0) return Promise.resolve(port);
  return new Promise((done, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const chosen = server.address().port;
      server.close(() => done(chosen));
    });
  });
}

/** The address people open: a hub listening on every interface is still opened at 127.0.0.1 here. */
function browserHost(host) {
  return host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
}

const options = readOptions();
// The hub validates its own variables; these three decide how the two are wired together.
const {
  DASHBOARD_URL: dashboardUrlSetting,
  PUBLIC_URL: publicUrl,
  SMTP_URL: smtpUrl,
  FRONT_END_SECRET: frontEndSecretSetting,
} = process.env;
if (!existsSync(join(packageDir, "dist")) || !webDir || !existsSync(join(webDir, ".next", "BUILD_ID"))) {
  fail(
    "The hub or the dashboard is not built: in the repository run npm run build first; an installed package lacking them is broken, reinstall it",
  );
}
const dashboardPort = await choosePort(options.dashboardPort, options.host);
const dashboardUrl = `http://${browserHost(options.host)}:${dashboardPort}`;

const children = new Set();
let isStopping = false;

function stopAll(exitCode) {
  if (isStopping) return;
  isStopping = true;
  const exits = [...children].map(
    (child) =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
        // The hub drains open streams for up to 10 s; give it that, then insist.
        setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
      }),
  );
  Promise.all(exits).then(() => process.exit(exitCode));
}

// Ctrl-C, a supervisor's stop or a quit. SIGHUP keeps its default, so `nohup` still works.
for (const signal of ["SIGINT", "SIGTERM", "SIGQUIT"]) process.once(signal, () => stopAll(0));

function watch(child, name) {
  children.add(child);
  child.once("exit", (code, signal) => {
    children.delete(child);
    if (isStopping) return;
    process.stderr.write(`${name} stopped (${signal ?? `exit code ${code}`}): stopping the other one too\n`);
    stopAll(code === 0 ? 1 : (code ?? 1));
  });
}

// The hub: its JSON log passes through; its "hub listening" line tells us where it is.
const hub = spawn(
  process.execPath,
  [hubBin, "start", "--port", String(options.hubPort), "--host", options.host, "--data", options.dataDir],
  {
    cwd: process.cwd(),
    env: { ...process.env, DASHBOARD_URL: dashboardUrlSetting || dashboardUrl },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
watch(hub, "The hub");
const hubUrl = await new Promise((done) => {
  let pending = "";
  hub.stdout.setEncoding("utf8").on("data", (text) => {
    process.stdout.write(text);
    if (pending === null) return;
    pending += text;
    for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        const record = JSON.parse(line);
        if (record.msg === "hub listening" && typeof record.url === "string") {
          pending = null;
          done(record.url);
          return;
        }
      } catch {}
    }
  });
});

// The hub has made its front-end secret by now (before "hub listening"); with it the hub believes
// the browser addresses the dashboard passes on, so one visitor's sign-in attempts do not count
// against everyone's.
const frontEndSecret = frontEndSecretSetting || (await readFile(join(options.dataDir, "front-end-secret"), "utf8")).trim();

// The dashboard, pointed at the hub. Without SMTP_URL the hub writes sign-in links to a file
// in the data directory; the sign-in page names it.
const web = spawn(process.execPath, [join(webDir, "server.mjs"), "--port", String(dashboardPort), "--hostname", options.host], {
  cwd: webDir,
  env: {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    HUB_URL: hubUrl,
    PUBLIC_HUB_URL: publicUrl || hubUrl,
    FRONT_END_SECRET: frontEndSecret,
    ...(smtpUrl ? {} : { SIGN_IN_LINKS_FILE: join(options.dataDir, "sign-in-links.log") }),
  },
  stdio: ["ignore", "pipe", "inherit"],
});
watch(web, "The dashboard");
web.stdout.setEncoding("utf8");
await new Promise((done) => {
  let seen = "";
  web.stdout.on("data", (text) => {
    if (seen === null) return process.stdout.write(text);
    seen += text;
    if (/dashboard listening/.test(seen)) {
      seen = null;
      done();
    }
  });
});

process.stdout.write(
  [
    "",
    "Private Connect is running:",
    `  dashboard  ${dashboardUrl}   sign in with your email${smtpUrl ? "" : ` (no SMTP_URL: the link is written to ${join(options.dataDir, "sign-in-links.log")})`}`,
    `  hub        ${hubUrl}   agents: connect up --hub ${hubUrl} --api-key <key>`,
    "Ctrl-C stops both.",
    "",
  ].join("\n"),
);
