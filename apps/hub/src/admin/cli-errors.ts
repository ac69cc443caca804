import { relative, resolve } from "node:path";
import { AppError } from "@private-connect/api";
import { isDatabaseUnavailableError } from "@private-connect/db";
import { ClusterSecretMismatch } from "../cluster/hub-registry.js";
import { RedisNotReachableAtStart } from "../cluster/redis-client.js";
import { WorkersError } from "../cluster/workers.js";
import { EnvError } from "../config/env.js";
import { UsageError } from "./cli-args.js";
import { DataDirLockedError } from "./data-dir-lock.js";

/**
 * A failure whose message already says what to do (the lock, a port in use, an answer from the
 * hub): printed as its one line, exit 1, no stack.
 */
export class CommandError extends Error {}

/** What the CLI knew when it failed, to name the flag or variable behind an error. */
export interface FailureContext {
  /** The environment variables that name files or the database (no secrets are read from them). */
  env?: {
    DATABASE_URL?: string | undefined;
    TLS_CERT?: string | undefined;
    TLS_KEY?: string | undefined;
    HUB_PEER_TLS_CERT?: string | undefined;
    HUB_PEER_TLS_KEY?: string | undefined;
    HUB_PEER_TLS_CA?: string | undefined;
  };
  /** `start`'s --host and --port. */
  listen?: { host: string; port: number };
  dataDir?: string;
}

export interface CliFailure {
  message: string;
  exitCode: 1 | 2;
  /** Only for a failure nobody foresaw (a bug): the frames that say where. */
  stack?: string;
}

/** Errors whose messages are written for the user as they are (a cluster the hub cannot join too). */
function isExpected(error: unknown): boolean {
  return (
    error instanceof CommandError ||
    error instanceof DataDirLockedError ||
    error instanceof EnvError ||
    error instanceof WorkersError ||
    error instanceof ClusterSecretMismatch ||
    error instanceof RedisNotReachableAtStart ||
    // packages/api's: its messages say what to do next (conventions).
    error instanceof AppError
  );
}

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  EROFS: "read-only file system",
};

/**
 * Turns whatever a command threw into what the user sees: one line saying what to do for their
 * mistakes (flags, the environment, the data directory, a port, the database's address), and the
 * stack only for the unforeseen, where it is what a bug report needs.
 */
export function describeCliFailure(error: unknown, context: FailureContext = {}): CliFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError) return { message, exitCode: 2 };
  if (isExpected(error)) return { message, exitCode: 1 };
  const described =
    describeListenError(error, context) ??
    describeDatabaseError(error, context) ??
    describeFileError(error, context) ??
    describeTlsError(error, context);
  if (described !== undefined) return { message: described, exitCode: 1 };
  const frames = error instanceof Error ? (error.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line)) : [];
  return { message, exitCode: 1, ...(frames.length > 0 ? { stack: frames.join("\n") } : {}) };
}

function describeListenError(error: unknown, context: FailureContext): string | undefined {
  const listen = context.listen;
  if (listen === undefined) return undefined;
  const { code, syscall, hostname } = error as NodeJS.ErrnoException & { hostname?: string };
  if (syscall === "listen") {
    if (code === "EADDRINUSE")
      return `Port ${listen.port} is already in use on ${listen.host}: stop what uses it, or choose another with --port`;
    if (code === "EACCES") return `Port ${listen.port} needs privileges on this machine: choose one above 1023 with --port`;
    if (code === "EADDRNOTAVAIL")
      return `--host ${listen.host} is not an address of this machine: use one of its addresses, 127.0.0.1, or 0.0.0.0 for all`;
  }
  if ((code === "ENOTFOUND" || code === "EAI_AGAIN") && hostname === listen.host) {
    return `--host ${listen.host} is not a host name this machine knows: use one of its addresses, 127.0.0.1, or 0.0.0.0 for all`;
  }
  return undefined;
}

/** "db.example.com:5432/pc": where DATABASE_URL points, without its user or password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  } catch {
    return "DATABASE_URL";
  }
}

function describeDatabaseError(error: unknown, context: FailureContext): string | undefined {
  const url = context.env?.DATABASE_URL;
  if (url === undefined) return undefined;
  const where = describeDatabaseUrl(url);
  if (isDatabaseUnavailableError(error)) {
    return `Cannot reach the PostgreSQL of DATABASE_URL (${where}): check that it is running there and that DATABASE_URL is right`;
  }
  // pg's DatabaseError: the server answered, and refused. 28: authorization; 3D000: no such database.
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  if (typeof severity === "string" && typeof code === "string" && (code.startsWith("28") || code === "3D000")) {
    const reason = error instanceof Error ? error.message : String(error);
    return `The PostgreSQL of DATABASE_URL (${where}) refused the hub: ${reason}: check the user, password and database name in DATABASE_URL`;
  }
  return undefined;
}

const FILE_VARIABLES = ["TLS_CERT", "TLS_KEY", "HUB_PEER_TLS_CERT", "HUB_PEER_TLS_KEY", "HUB_PEER_TLS_CA"] as const;

function describeFileError(error: unknown, context: FailureContext): string | undefined {
  const { code, path } = error as NodeJS.ErrnoException;
  const problem = code === undefined ? undefined : FILE_PROBLEMS[code];
  if (problem === undefined || typeof path !== "string") return undefined;
  const file = resolve(path);
  for (const variable of FILE_VARIABLES) {
    const value = context.env?.[variable];
    if (value !== undefined && resolve(value) === file) return `Cannot read ${variable} (${file}): ${problem}: check the path`;
  }
  if (context.dataDir !== undefined) {
    const dataDir = resolve(context.dataDir);
    const inside = relative(dataDir, file);
    if (inside === "" || (!inside.startsWith("..") && !inside.startsWith("/"))) {
      return `Cannot use the data directory ${dataDir} (${file}: ${problem}): choose another with --data, or fix its permissions`;
    }
    // mkdir of a parent that cannot be made: the data directory's own path is the problem.
    if (relative(file, dataDir) !== "" && !relative(file, dataDir).startsWith("..")) {
      return `Cannot create the data directory ${dataDir} (${file}: ${problem}): choose another with --data`;
    }
  }
  return undefined;
}

/** OpenSSL refusing TLS_CERT/TLS_KEY's contents (not PEM, a key that does not match the certificate). */
function describeTlsError(error: unknown, context: FailureContext): string | undefined {
  const { code } = error as NodeJS.ErrnoException;
  if (typeof code !== "string" || !code.startsWith("ERR_OSSL")) return undefined;
  const named = FILE_VARIABLES.filter((variable) => context.env?.[variable] !== undefined);
  if (named.length === 0) return undefined;
  const reason = error instanceof Error ? error.message : String(error);
  return `The TLS files of ${named.join(", ")} are not a usable certificate and key (${reason}): check that they are PEM and belong together`;
}
