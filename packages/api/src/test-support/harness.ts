// Shared by this package's tests only (excluded from the build): a real database on each engine,
// deps with a controllable clock and presence, and callers for any bearer.
import { randomBytes } from "node:crypto";
import { type Database, openDatabase } from "@private-connect/db";
import { createThrowawayPostgres, getTestAdminUrl, isPostgresReachable, withAdminClient } from "@private-connect/db/testing";
import { TRPCError } from "@trpc/server";
import { expect } from "vitest";
import type { ApiDeps } from "../deps.js";
import { AppError, type AppErrorCode } from "../errors.js";
import { createRevocations } from "../events/revocations.js";
import { createWorkspaceEvents } from "../events/workspace-events.js";
import { createCaller } from "../root.js";
import { createRateLimiter } from "../services/auth/rate-limiter.js";
import { SESSION_COOKIE_NAME } from "../services/auth/session-cookie.js";
import { createWorkspace } from "../services/workspaces/create-workspace.js";
import { type CreateContextInnerOptions, createContextInner } from "../trpc.js";

export type EngineName = "pglite" | "postgres";

const postgresReachable = await isPostgresReachable(getTestAdminUrl());

/** PGlite always; PostgreSQL when the run has one (DATABASE_URL, 127.0.0.1:5432 or a throwaway cluster). */
export const testEngines: { name: EngineName; skip: boolean }[] = [
  { name: "pglite", skip: false },
  { name: "postgres", skip: !postgresReachable },
];

/** A mail the fake mailer accepted. */
export interface SentMail {
  to: string;
  url: string;
}

/** What one browser sends: its cookie jar, and the Set-Cookie headers it received. */
export interface TestBrowser {
  /** name -> value, maintained from setCookie / clearCookie like a browser would. */
  cookies: Map<string, string>;
  /** Every cookie the API asked to set or clear, in order (value "" and maxAgeSeconds 0 for a clear). */
  received: {
    name: string;
    value: string;
    maxAgeSeconds: number;
    httpOnly: boolean;
    secure: boolean;
    sameSite: string;
    path: string;
  }[];
  /** A caller for one request of this browser. */
  caller(
    options?: Omit<CreateContextInnerOptions, "deps" | "cookieHeader" | "setCookie" | "clearCookie">,
  ): Promise<ReturnType<typeof createCaller>>;
}

export interface SignedInTestUser {
  browser: TestBrowser;
  userId: string;
  email: string;
  /** The plaintext pc_session value, for the secrets scan. */
  sessionToken: string;
  /** The token of the sign-in link that was used. */
  linkToken: string;
  workspaces: { id: string; name: string; slug: string; role: "owner" | "member" }[];
  /** A caller acting in one of the user's workspaces (x-pc-workspace). */
  in(workspaceId: string): Promise<ReturnType<typeof createCaller>>;
}

export interface Harness {
  db: Database;
  deps: ApiDeps;
  /** Mail the default fake mailer accepted, oldest first (replace deps.mailer to use SMTP). */
  sentMail: SentMail[];
  /** Agent ids the fake presence reports as connected. */
  online: Set<string>;
  /** Moves the injected clock; undefined means real time. */
  setNow(now: Date | undefined): void;
  /** A caller as one request of this bearer; the signal ends its subscriptions, like a closed connection. */
  caller(bearer?: string, options?: { signal?: AbortSignal }): Promise<ReturnType<typeof createCaller>>;
  /** A fresh workspace with its plaintext API key. */
  createTestWorkspace(name?: string): Promise<{ workspaceId: string; apiKey: string }>;
  /** A registered agent of the key's workspace with its plaintext token. */
  registerTestAgent(apiKey: string, label: string): Promise<{ agentId: string; token: string }>;
  /**
   * PostgreSQL only: runs SQL on the test database as the superuser, for control experiments
   * that must step outside row-level security (never what the code under test does).
   */
  queryAsSuperuser?: (sql: string) => Promise<Record<string, unknown>[]>;
  /**
   * Runs SQL outside row-level security on either engine (the admin connection on PostgreSQL, a
   * transaction that drops the runtime role on PGlite): for scans that must see every row.
   */
  queryAsOwner(sql: string): Promise<Record<string, unknown>[]>;
  /** A browser with an empty cookie jar. */
  openBrowser(): TestBrowser;
  /**
   * Signs a user in through the procedures (request a link, read it from the fake mailer, verify
   * it) in a new browser, from a network of its own so tests do not share an IP limit.
   */
  signIn(email: string): Promise<SignedInTestUser>;
  close(): Promise<void>;
}

let workspaceCounter = 0;

export async function openHarness(engine: EngineName): Promise<Harness> {
  let db: Database;
  let dropDatabase: () => Promise<void> = async () => undefined;
  let queryAsSuperuser: Harness["queryAsSuperuser"];
  if (engine === "pglite") {
    db = await openDatabase();
  } else {
    const database = await createThrowawayPostgres();
    dropDatabase = database.drop;
    queryAsSuperuser = (sql) => withAdminClient(database.url, async (client) => (await client.query(sql)).rows);
    db = await openDatabase({ databaseUrl: database.url, poolSize: 5 }).catch(async (error: unknown) => {
      await database.drop();
      throw error;
    });
  }
  let now: Date | undefined;
  const online = new Set<string>();
  const sentMail: SentMail[] = [];
  const deps: ApiDeps = {
    db,
    // A fresh ENCRYPTION_KEY per harness, as each hub has its own.
    config: { tokenExpiryDays: 30, publicUrl: "https://app.private-connect.test", secretHashKey: randomBytes(32) },
    now: () => now ?? new Date(),
    presence: { findOnlineAgents: async (agentIds) => new Set(agentIds.filter((agentId) => online.has(agentId))) },
    events: createWorkspaceEvents(),
    mailer: {
      async sendMagicLink(to, url) {
        sentMail.push({ to, url });
      },
    },
    rateLimiter: createRateLimiter(),
    revocations: createRevocations(),
  };
  let networkCounter = 0;
  const openBrowser = (): TestBrowser => {
    const cookies = new Map<string, string>();
    const received: TestBrowser["received"] = [];
    return {
      cookies,
      received,
      async caller(options = {}) {
        const cookieHeader = [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
        const context = await createContextInner({
          deps,
          ...options,
          cookieHeader: cookieHeader === "" ? undefined : cookieHeader,
          setCookie(cookie) {
            received.push(cookie);
            cookies.set(cookie.name, cookie.value);
          },
          clearCookie(cookie) {
            received.push({ ...cookie, value: "", maxAgeSeconds: 0 });
            cookies.delete(cookie.name);
          },
        });
        return createCaller(context);
      },
    };
  };
  const harness: Harness = {
    db,
    deps,
    sentMail,
    online,
    setNow(value) {
      now = value;
    },
    async caller(bearer, options = {}) {
      return createCaller(await createContextInner({ deps, bearer }), { signal: options.signal });
    },
    async createTestWorkspace(name = `Test workspace ${++workspaceCounter}`) {
      const created = await createWorkspace(deps, { name, ownerEmail: `owner${workspaceCounter}@example.com` });
      return { workspaceId: created.workspace.id, apiKey: created.apiKey };
    },
    async registerTestAgent(apiKey, label) {
      const registered = await (await harness.caller(apiKey)).agents.register({ label });
      return { agentId: registered.agentId, token: registered.token };
    },
    queryAsSuperuser,
    async queryAsOwner(sql) {
      if (queryAsSuperuser !== undefined) return queryAsSuperuser(sql);
      // PGlite's session user is its superuser; SET LOCAL ROLE NONE returns to it until commit.
      return db.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe("SET LOCAL ROLE NONE");
        return tx.$queryRawUnsafe<Record<string, unknown>[]>(sql);
      });
    },
    openBrowser,
    async signIn(email) {
      const browser = openBrowser();
      networkCounter += 1;
      const ip = `198.51.${Math.floor(networkCounter / 250) % 250}.${(networkCounter % 250) + 1}`;
      const mailCount = sentMail.length;
      await (await browser.caller({ ip })).auth.requestMagicLink({ email });
      const mail = sentMail.slice(mailCount).find((sent) => sent.to === email.trim().toLowerCase());
      const linkToken = mail === undefined ? null : new URL(mail.url).searchParams.get("token");
      if (linkToken === null) throw new Error(`no sign-in link was mailed to ${email}`);
      const signedIn = await (await browser.caller({ ip })).auth.verifyMagicLink({ token: linkToken });
      const sessionToken = browser.cookies.get(SESSION_COOKIE_NAME);
      if (sessionToken === undefined) throw new Error("verifyMagicLink set no session cookie");
      return {
        browser,
        userId: signedIn.user.id,
        email: signedIn.user.email,
        sessionToken,
        linkToken,
        workspaces: signedIn.workspaces,
        in: (workspaceId) => browser.caller({ workspaceId }),
      };
    },
    async close() {
      await db.close();
      await dropDatabase();
    },
  };
  return harness;
}

/** Asserts a tRPC call failed with the given AppError code and exact message. */
export async function expectAppError(promise: Promise<unknown>, code: AppErrorCode, message: string | RegExp): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, "expected the call to fail").toBeDefined();
  const appError = error instanceof TRPCError ? error.cause : error;
  expect(appError).toBeInstanceOf(AppError);
  expect((appError as AppError).code).toBe(code);
  if (typeof message === "string") expect((error as Error).message).toBe(message);
  else expect((error as Error).message).toMatch(message);
}
