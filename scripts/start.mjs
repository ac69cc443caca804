#!/usr/bin/env node
// `npm start`: builds the repository (`npm run build`, skipped with --no-build), then runs
// apps/hub/bin/connect-hub-dashboard.js, the hub and the dashboard together on the embedded
// default, exactly as the installed hub package runs them. Its other options are that command's
// (`npm start -- --help`).
//
// Stopping: the start script execs this file, so npm's SIGINT and SIGTERM (which npm passes on
// to its script) reach us with no shell in between to swallow them, and connect-hub-dashboard
// stops the hub and the dashboard on either. Any other end of npm (SIGHUP, SIGKILL) leaves us
// adopted by another process: we notice and stop too, rather than leave a hub and a dashboard
// that nobody started running.
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const shouldBuild = !args.includes("--no-build");

const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid === parentPid) return;
  process.stderr.write("npm start's parent process went away: stopping the hub and the dashboard\n");
  // connect-hub-dashboard's own stop: the hub drains, then both exit.
  process.kill(process.pid, "SIGTERM");
}, 500).unref();

if (shouldBuild) await build();
process.argv = [process.argv[0] ?? process.execPath, process.argv[1] ?? "", ...args.filter((arg) => arg !== "--no-build")];
await import(join(root, "apps", "hub", "bin", "connect-hub-dashboard.js"));

/** `npm run build`, stopped with us; exits with its failure rather than start a stale build. */
async function build() {
  // npm sets npm_execpath to its own CLI script when it runs us; outside npm, `npm` from PATH.
  const npmCli = process.env.npm_execpath;
  const options = { cwd: root, stdio: ["ignore", "inherit", "inherit"] };
  const child = npmCli?.endsWith(".js")
    ? spawn(process.execPath, [npmCli, "run", "build"], options)
    : spawn("npm", ["run", "build"], options);
  let isStopped = false;
  const stop = () => {
    isStopped = true;
    child.kill("SIGTERM");
  };
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, stop);
  const [code, signal] = await new Promise((done) => {
    child.once("error", (error) => done([null, error.message]));
    child.once("exit", (exitCode, exitSignal) => done([exitCode, exitSignal]));
  });
  for (const name of ["SIGINT", "SIGTERM"]) process.off(name, stop);
  if (isStopped) process.exit(0);
  if (code !== 0) {
    process.stderr.write(
      `Error: npm run build failed (${signal ?? `exit code ${code}`}): fix what it printed above and run npm start again\n`,
    );
    process.exit(1);
  }
}
