import { createServer } from "node:net";
import { join } from "node:path";
import { AppError } from "@private-connect/api";
import { describe, expect, it } from "vitest";
import { EnvError } from "../config/env.js";
import { UsageError } from "./cli-args.js";
import { CommandError, describeCliFailure, describeDatabaseUrl } from "./cli-errors.js";
import { DataDirLockedError } from "./data-dir-lock.js";

function errnoError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

/** A real EADDRINUSE from node:net, as startHub's listen gets it. */
async function listenError(port: number): Promise<Error> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", (error) => resolve(error));
    server.listen(port, "127.0.0.1");
  });
}

describe("describeCliFailure", () => {
  it("gives a usage mistake exit 2 and the user's failures exit 1, both as their one line without a stack", () => {
    expect(describeCliFailure(new UsageError("Unknown option --bogus: run connect-hub start --help"))).toEqual({
      message: "Unknown option --bogus: run connect-hub start --help",
      exitCode: 2,
    });
    for (const error of [
      new DataDirLockedError("Another hub (pid 7) is using /srv/hub: stop it first, or start this one with another --data"),
      new CommandError("No hub data in /tmp/x"),
      new EnvError("Invalid LOG_LEVEL: use info"),
      new AppError("CONFLICT", 'A workspace with the slug "acme" already exists'),
    ]) {
      expect(describeCliFailure(error)).toEqual({ message: error.message, exitCode: 1 });
    }
  });

  it("names the flag behind a port in use, a port that needs privileges, and a bad --host", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const inUse = await listenError(port);
      expect(describeCliFailure(inUse, { listen: { host: "127.0.0.1", port } })).toEqual({
        message: `Port ${port} is already in use on 127.0.0.1: stop what uses it, or choose another with --port`,
        exitCode: 1,
      });
    } finally {
      holder.close();
    }
    const listen = { host: "hub.invalid", port: 80 };
    expect(describeCliFailure(errnoError("listen EACCES", { code: "EACCES", syscall: "listen" }), { listen }).message).toBe(
      "Port 80 needs privileges on this machine: choose one above 1023 with --port",
    );
    expect(
      describeCliFailure(errnoError("getaddrinfo ENOTFOUND hub.invalid", { code: "ENOTFOUND", hostname: "hub.invalid" }), {
        listen,
      }).message,
    ).toMatch(/^--host hub\.invalid is not a host name this machine knows: use one of its addresses/);
  });

  it("names DATABASE_URL's host for an unreachable or refusing PostgreSQL, never its password", () => {
    const env = { DATABASE_URL: "postgresql://hub:s3cret-pw@db.example.test:6543/pc" };
    const refused = describeCliFailure(errnoError("connect ECONNREFUSED 10.0.0.9:6543", { code: "ECONNREFUSED" }), { env });
    expect(refused).toEqual({
      message:
        "Cannot reach the PostgreSQL of DATABASE_URL (db.example.test:6543/pc): check that it is running there and that DATABASE_URL is right",
      exitCode: 1,
    });
    const noDatabase = describeCliFailure(errnoError('database "pc" does not exist', { code: "3D000", severity: "FATAL" }), {
      env,
    });
    expect(noDatabase.message).toBe(
      'The PostgreSQL of DATABASE_URL (db.example.test:6543/pc) refused the hub: database "pc" does not exist: check the user, password and database name in DATABASE_URL',
    );
    expect(noDatabase.stack).toBeUndefined();
    expect(JSON.stringify([refused, noDatabase])).not.toContain("s3cret");
    expect(describeDatabaseUrl("postgresql://u:p@localhost/db")).toBe("localhost:5432/db");
  });

  it("names the variable of an unreadable TLS file, and the data directory for one inside it", () => {
    const env = { TLS_CERT: "/etc/hub/cert.pem", TLS_KEY: "/etc/hub/key.pem" };
    const missingKey = errnoError("ENOENT: no such file or directory, open '/etc/hub/key.pem'", {
      code: "ENOENT",
      path: "/etc/hub/key.pem",
    });
    expect(describeCliFailure(missingKey, { env }).message).toBe(
      "Cannot read TLS_KEY (/etc/hub/key.pem): no such file or directory: check the path",
    );
    const dataDir = "/srv/hub-data";
    const denied = errnoError("EACCES", { code: "EACCES", path: join(dataDir, "hub.pid") });
    expect(describeCliFailure(denied, { dataDir }).message).toBe(
      `Cannot use the data directory ${dataDir} (${join(dataDir, "hub.pid")}: permission denied): choose another with --data, or fix its permissions`,
    );
    const badPem = errnoError("error:0480006C:PEM routines::no start line", { code: "ERR_OSSL_PEM_NO_START_LINE" });
    expect(describeCliFailure(badPem, { env }).message).toMatch(/^The TLS files of TLS_CERT, TLS_KEY are not a usable/);
  });

  it("keeps the stack, once, for a failure nobody foresaw", () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    const failure = describeCliFailure(bug, { env: {} });
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toBe(bug.message);
    // The frames only: the message is printed once, above them.
    expect(failure.stack).toMatch(/^\s+at /);
    expect(failure.stack).not.toContain(bug.message);
  });
});
