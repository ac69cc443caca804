import { randomBytes, randomUUID } from "node:crypto";
import { sha256Hex } from "@private-connect/db";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppError,
  SESSION_EXPIRED,
  SIGN_IN_LINK_INVALID,
  USER_SESSION_REQUIRED,
  WORKSPACE_NOT_FOUND,
  WORKSPACE_REQUIRED,
} from "../errors.js";
import { createSmtpMailer } from "../services/auth/mailer.js";
import { expectAppError, type Harness, openHarness, type TestBrowser, testEngines } from "../test-support/harness.js";
import { scanTablesForSecrets } from "../test-support/scan-for-secrets.js";
import { findSignInLink, type SmtpInbox, startSmtpInbox } from "../test-support/smtp-inbox.js";

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const DAY_MS = 24 * 60 * MINUTE_MS;
const SESSION_COOKIE_FLAGS = { name: "pc_session", httpOnly: true, sameSite: "Lax", path: "/", maxAgeSeconds: 30 * 86_400 };

async function catchError(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe.each(testEngines)("sign-in and sessions on $name", ({ name, skip }) => {
  let harness: Harness;
  let inbox: SmtpInbox;
  /** Every plaintext secret these tests handled, for the scan at the end. */
  const secrets: string[] = [];
  let counter = 0;
  let networkCounter = 0;

  const uniqueEmail = (tag: string) => `${tag}-${++counter}-${randomUUID().slice(0, 8)}@example.com`;
  // A network of its own per request unless a test says otherwise: the IP limit is tested once.
  const nextIp = () => `203.0.113.${(++networkCounter % 250) + 1}`;

  /** Requests a link (from a fresh browser) and returns the token the fake mailer got. */
  async function requestLinkToken(email: string, ip = `192.0.2.${(++networkCounter % 250) + 1}`): Promise<string> {
    const before = harness.sentMail.length;
    await (await harness.openBrowser().caller({ ip })).auth.requestMagicLink({ email });
    const mail = harness.sentMail.slice(before).find((sent) => sent.to === email);
    const token = mail === undefined ? null : new URL(mail.url).searchParams.get("token");
    if (token === null) throw new Error(`no link for ${email}`);
    return token;
  }

  async function readLastUsedMs(sessionToken: string): Promise<number> {
    const rows = await harness.queryAsOwner(
      `SELECT extract(epoch FROM last_used_at)::float8 * 1000 AS ms FROM sessions WHERE token_hash = '${sha256Hex(sessionToken)}'`,
    );
    return Math.round(Number(rows[0]?.ms));
  }

  async function callMe(browser: TestBrowser) {
    return (await browser.caller()).auth.me();
  }

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    inbox = await startSmtpInbox();
  });

  afterAll(async () => {
    await inbox?.close();
    await harness?.close();
  });

  it.skipIf(skip)("signs in through a real SMTP server on loopback, with the link read from the received mail", async () => {
    const smtpMailer = createSmtpMailer(inbox.url, "Private Connect <no-reply@private-connect.test>");
    const fakeMailer = harness.deps.mailer;
    harness.deps.mailer = smtpMailer;
    try {
      const email = `Alice.Smtp-${++counter}@Example.com`;
      const browser = harness.openBrowser();
      const answer = await (await browser.caller({ ip: nextIp() })).auth.requestMagicLink({ email: `  ${email} ` });
      expect(answer).toEqual({ expiresInMinutes: 15 });

      const mail = inbox.messages.find((received) => received.to.includes(email.toLowerCase()));
      expect(mail?.subject).toBe("Your Private Connect sign-in link");
      const link = findSignInLink(mail ?? { to: [], subject: "", body: "" });
      expect(link).toMatch(/^https:\/\/app\.private-connect\.test\/auth\/verify\?token=[A-Za-z0-9_-]{43}$/);
      const token = new URL(link).searchParams.get("token") ?? "";
      secrets.push(token);

      const signedIn = await (await browser.caller({ host: "app.private-connect.test" })).auth.verifyMagicLink({ token });
      const localPart = `alice.smtp-${counter}`;
      expect(signedIn).toEqual({
        user: { id: expect.any(String), email: email.toLowerCase() },
        workspaces: [{ id: expect.any(String), name: localPart, slug: `alice-smtp-${counter}`, role: "owner" }],
      });
      const sessionToken = browser.cookies.get("pc_session") ?? "";
      expect(sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      secrets.push(sessionToken);

      expect(await callMe(browser)).toEqual(signedIn);
      const workspaceId = signedIn.workspaces[0]?.id ?? "";
      expect(await (await browser.caller({ workspaceId })).services.list()).toEqual([]);
    } finally {
      harness.deps.mailer = fakeMailer;
      smtpMailer.close();
    }
  });

  it.skipIf(skip)(
    "answers an unknown address exactly like a known one, and creates no account before the link is used",
    async () => {
      const known = await harness.signIn(uniqueEmail("known"));
      secrets.push(known.sessionToken, known.linkToken);
      const unknownEmail = uniqueEmail("unknown");
      const before = harness.sentMail.length;
      const ip = nextIp();
      const knownAnswer = await (await harness.openBrowser().caller({ ip })).auth.requestMagicLink({ email: known.email });
      const unknownAnswer = await (await harness.openBrowser().caller({ ip })).auth.requestMagicLink({ email: unknownEmail });
      expect(unknownAnswer).toEqual(knownAnswer);
      // Both get a mail: for the unknown address, the link is how the account gets created.
      expect(harness.sentMail.slice(before).map((mail) => mail.to)).toEqual([known.email, unknownEmail]);
      expect(await harness.queryAsOwner(`SELECT count(*)::int AS n FROM users WHERE email = '${unknownEmail}'`)).toEqual([
        { n: 0 },
      ]);
    },
  );

  it.skipIf(skip)("limits sign-in links to 5 per address in 15 minutes, and says when to retry", async () => {
    const startMs = Date.now();
    harness.setNow(new Date(startMs));
    try {
      const email = uniqueEmail("limited");
      // From five different networks: only the address limit applies.
      for (let i = 0; i < 5; i += 1) {
        await (await harness.openBrowser().caller({ ip: nextIp() })).auth.requestMagicLink({ email });
      }
      const refused = await catchError((await harness.openBrowser().caller({ ip: nextIp() })).auth.requestMagicLink({ email }));
      expect(refused).toBeInstanceOf(TRPCError);
      expect((refused as TRPCError).code).toBe("TOO_MANY_REQUESTS");
      expect((refused as TRPCError).message).toBe("Too many sign-in links requested for this address: try again in 15 minutes");
      expect(((refused as TRPCError).cause as AppError).retryAfterSeconds).toBe(900);

      // Another address is not affected, nor is this one once the window has passed.
      const ip = nextIp();
      await (await harness.openBrowser().caller({ ip })).auth.requestMagicLink({ email: uniqueEmail("neighbour") });
      harness.setNow(new Date(startMs + 15 * MINUTE_MS));
      await expect((await harness.openBrowser().caller({ ip })).auth.requestMagicLink({ email })).resolves.toEqual({
        expiresInMinutes: 15,
      });
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("limits sign-in links to 20 per IP in 15 minutes, whatever the addresses", async () => {
    const startMs = Date.now();
    harness.setNow(new Date(startMs + 2 * SECOND_MS));
    try {
      const ip = "198.18.0.1";
      for (let i = 0; i < 20; i += 1) {
        await (await harness.openBrowser().caller({ ip })).auth.requestMagicLink({ email: uniqueEmail("spray") });
      }
      await expectAppError(
        (await harness.openBrowser().caller({ ip })).auth.requestMagicLink({ email: uniqueEmail("spray") }),
        "RATE_LIMITED",
        "Too many sign-in links requested from your network: try again in 15 minutes",
      );
      // The same address with the IPv4-mapped IPv6 spelling is the same network.
      await expectAppError(
        (await harness.openBrowser().caller({ ip: `::ffff:${ip}` })).auth.requestMagicLink({ email: uniqueEmail("spray") }),
        "RATE_LIMITED",
        /from your network/,
      );
      await expect(
        (await harness.openBrowser().caller({ ip: "198.18.0.2" })).auth.requestMagicLink({ email: uniqueEmail("spray") }),
      ).resolves.toEqual({ expiresInMinutes: 15 });
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("accepts a link once; a reused, unknown or malformed one gets one clear message", async () => {
    const token = await requestLinkToken(uniqueEmail("once"));
    const first = harness.openBrowser();
    await (await first.caller()).auth.verifyMagicLink({ token });
    secrets.push(first.cookies.get("pc_session") ?? "");

    const second = harness.openBrowser();
    await expectAppError((await second.caller()).auth.verifyMagicLink({ token }), "UNAUTHORIZED", SIGN_IN_LINK_INVALID);
    expect(second.received).toEqual([]);
    const unknown = randomBytes(32).toString("base64url");
    await expectAppError((await second.caller()).auth.verifyMagicLink({ token: unknown }), "UNAUTHORIZED", SIGN_IN_LINK_INVALID);
    await expectAppError((await second.caller()).auth.verifyMagicLink({ token: "nope" }), "UNAUTHORIZED", SIGN_IN_LINK_INVALID);
  });

  it.skipIf(skip)("invalidates an address's unused links when a new one is requested: only the newest signs in", async () => {
    const email = uniqueEmail("superseded");
    const older = await requestLinkToken(email);
    const newer = await requestLinkToken(email);
    // Someone holding the older mail (forwarded, on a shared screen) gets nothing from it.
    const thief = harness.openBrowser();
    await expectAppError((await thief.caller()).auth.verifyMagicLink({ token: older }), "UNAUTHORIZED", SIGN_IN_LINK_INVALID);
    expect(thief.received).toEqual([]);
    const owner = harness.openBrowser();
    await expect((await owner.caller()).auth.verifyMagicLink({ token: newer })).resolves.toMatchObject({ user: { email } });
    secrets.push(owner.cookies.get("pc_session") ?? "");
    // Another address's link is untouched by this one's requests.
    const neighbour = uniqueEmail("neighbour");
    const neighbourToken = await requestLinkToken(neighbour);
    await requestLinkToken(email);
    const neighbourBrowser = harness.openBrowser();
    await expect((await neighbourBrowser.caller()).auth.verifyMagicLink({ token: neighbourToken })).resolves.toMatchObject({
      user: { email: neighbour },
    });
    secrets.push(neighbourBrowser.cookies.get("pc_session") ?? "");
  });

  it.skipIf(skip)("lets two browsers race for one link and signs in exactly one", async () => {
    const token = await requestLinkToken(uniqueEmail("race"));
    const browsers = [harness.openBrowser(), harness.openBrowser()];
    const outcomes = await Promise.allSettled(
      browsers.map(async (browser) => (await browser.caller()).auth.verifyMagicLink({ token })),
    );
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(browsers.filter((browser) => browser.cookies.has("pc_session"))).toHaveLength(1);
    for (const browser of browsers) secrets.push(browser.cookies.get("pc_session") ?? "");
  });

  it.skipIf(skip)("expires a link 15 minutes after it was requested", async () => {
    const startMs = Date.now();
    harness.setNow(new Date(startMs));
    try {
      // Two addresses: a second link for the same one would supersede the first.
      const email = uniqueEmail("expiring");
      const early = await requestLinkToken(email);
      const late = await requestLinkToken(uniqueEmail("expiring"));
      harness.setNow(new Date(startMs + 15 * MINUTE_MS - SECOND_MS));
      const browser = harness.openBrowser();
      await expect((await browser.caller()).auth.verifyMagicLink({ token: early })).resolves.toMatchObject({ user: { email } });
      secrets.push(browser.cookies.get("pc_session") ?? "");
      harness.setNow(new Date(startMs + 15 * MINUTE_MS));
      await expectAppError(
        (await harness.openBrowser().caller()).auth.verifyMagicLink({ token: late }),
        "UNAUTHORIZED",
        SIGN_IN_LINK_INVALID,
      );
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("keeps a session through 30 days of inactivity, sliding it forward at most once a minute", async () => {
    const startMs = Date.now();
    harness.setNow(new Date(startMs));
    try {
      const user = await harness.signIn(uniqueEmail("session"));
      secrets.push(user.sessionToken);
      const cookiesAtSignIn = user.browser.received.length;
      expect(await readLastUsedMs(user.sessionToken)).toBe(startMs);

      // Within a minute: used, but not written again, and no new cookie.
      harness.setNow(new Date(startMs + 30 * SECOND_MS));
      await expect(callMe(user.browser)).resolves.toMatchObject({ user: { id: user.userId } });
      expect(await readLastUsedMs(user.sessionToken)).toBe(startMs);
      expect(user.browser.received).toHaveLength(cookiesAtSignIn);

      // 29 days idle: still valid, and the window (and the cookie's lifetime) move forward.
      harness.setNow(new Date(startMs + 29 * DAY_MS));
      await expect(callMe(user.browser)).resolves.toMatchObject({ user: { id: user.userId } });
      expect(await readLastUsedMs(user.sessionToken)).toBe(startMs + 29 * DAY_MS);
      expect(user.browser.received.at(-1)).toEqual({ ...SESSION_COOKIE_FLAGS, value: user.sessionToken, secure: true });

      // 58 days after sign-in, 29 after the last use: still valid.
      harness.setNow(new Date(startMs + 58 * DAY_MS));
      await expect(callMe(user.browser)).resolves.toMatchObject({ user: { id: user.userId } });

      // 30 days without a request: gone, and the browser is told to drop the cookie.
      harness.setNow(new Date(startMs + 88 * DAY_MS));
      await expectAppError(callMe(user.browser), "UNAUTHORIZED", SESSION_EXPIRED);
      expect(user.browser.cookies.has("pc_session")).toBe(false);
      expect(user.browser.received.at(-1)).toMatchObject({ name: "pc_session", value: "", maxAgeSeconds: 0 });
      // Going back in time does not revive it either: an expired session stays expired...
      const replay = harness.openBrowser();
      replay.cookies.set("pc_session", user.sessionToken);
      await expectAppError(callMe(replay), "UNAUTHORIZED", SESSION_EXPIRED);
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("logs out: the session is revoked and its cookie cleared", async () => {
    const user = await harness.signIn(uniqueEmail("logout"));
    secrets.push(user.sessionToken);
    expect(await (await user.browser.caller()).auth.logout()).toEqual({ isSignedOut: true });
    expect(user.browser.cookies.has("pc_session")).toBe(false);
    expect(user.browser.received.at(-1)).toEqual({ ...SESSION_COOKIE_FLAGS, value: "", maxAgeSeconds: 0, secure: true });

    // A copy of the old cookie is worth nothing now.
    const replay = harness.openBrowser();
    replay.cookies.set("pc_session", user.sessionToken);
    await expectAppError(callMe(replay), "UNAUTHORIZED", SESSION_EXPIRED);
    const revoked = await harness.queryAsOwner(
      `SELECT revoked_at IS NOT NULL AS is_revoked FROM sessions WHERE token_hash = '${sha256Hex(user.sessionToken)}'`,
    );
    expect(revoked).toEqual([{ is_revoked: true }]);
    // Logging out without a session is fine too.
    await expect((await harness.openBrowser().caller()).auth.logout()).resolves.toEqual({ isSignedOut: true });
  });

  it.skipIf(skip)(
    "sets the cookie HttpOnly, SameSite=Lax, Path=/, for 30 days, and Secure unless the host is loopback",
    async () => {
      const cases: [string | undefined, boolean][] = [
        ["localhost:3001", false],
        ["127.0.0.1:3001", false],
        ["[::1]:3001", false],
        ["app.example.com", true],
        ["127.0.0.1.nip.io", true],
        [undefined, true],
      ];
      for (const [host, secure] of cases) {
        const token = await requestLinkToken(uniqueEmail("cookie"));
        const browser = harness.openBrowser();
        await (await browser.caller({ host })).auth.verifyMagicLink({ token });
        expect(browser.received, String(host)).toEqual([
          { ...SESSION_COOKIE_FLAGS, value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), secure },
        ]);
        secrets.push(browser.cookies.get("pc_session") ?? "");
      }
    },
  );

  it.skipIf(skip)("ends the browser's previous session when another link is used in it", async () => {
    const first = await harness.signIn(uniqueEmail("first"));
    secrets.push(first.sessionToken);
    const secondEmail = uniqueEmail("second");
    const token = await requestLinkToken(secondEmail);
    await (await first.browser.caller()).auth.verifyMagicLink({ token });
    secrets.push(first.browser.cookies.get("pc_session") ?? "");
    expect((await callMe(first.browser)).user.email).toBe(secondEmail);
    const replay = harness.openBrowser();
    replay.cookies.set("pc_session", first.sessionToken);
    await expectAppError(callMe(replay), "UNAUTHORIZED", SESSION_EXPIRED);
  });

  it.skipIf(skip)("acts in a workspace only when x-pc-workspace names one of the user's own", async () => {
    const user = await harness.signIn(uniqueEmail("header"));
    const stranger = await harness.signIn(uniqueEmail("stranger"));
    secrets.push(user.sessionToken, stranger.sessionToken);
    const own = user.workspaces[0]?.id ?? "";
    const foreign = stranger.workspaces[0]?.id ?? "";

    await expectAppError((await user.browser.caller()).services.list(), "BAD_REQUEST", WORKSPACE_REQUIRED);
    expect(await (await user.in(own)).services.list()).toEqual([]);
    expect(await (await user.in(own.toUpperCase())).services.list()).toEqual([]);
    for (const workspaceId of [foreign, randomUUID(), "not-a-uuid", "' OR true --"]) {
      await expectAppError((await user.in(workspaceId)).services.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);
      await expectAppError((await user.in(workspaceId)).members.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);
    }
    // User-level calls do not need a workspace, so a stale header does not lock anyone out of auth.me.
    expect((await (await user.in(foreign)).auth.me()).user.id).toBe(user.userId);
  });

  it.skipIf(skip)("keeps user calls for signed-in users; a bearer decides when a request carries both", async () => {
    const { apiKey, workspaceId } = await harness.createTestWorkspace();
    secrets.push(apiKey);
    await expectAppError((await harness.caller(apiKey)).auth.me(), "FORBIDDEN", USER_SESSION_REQUIRED);
    await expectAppError((await harness.caller(apiKey)).workspaces.create({ name: "x" }), "FORBIDDEN", USER_SESSION_REQUIRED);
    await expectAppError((await harness.caller()).auth.me(), "UNAUTHORIZED", /^Missing credentials/);

    const user = await harness.signIn(uniqueEmail("both"));
    secrets.push(user.sessionToken);
    await expectAppError((await user.browser.caller({ bearer: apiKey })).auth.me(), "FORBIDDEN", USER_SESSION_REQUIRED);
    // The API key's workspace, whatever the header says.
    const listed = await (await user.browser.caller({ bearer: apiKey, workspaceId: user.workspaces[0]?.id })).members.list();
    expect(listed.map((member) => member.role)).toEqual(["owner"]);
    expect(listed[0]?.email).not.toBe(user.email);
    expect(workspaceId).not.toBe(user.workspaces[0]?.id);
  });

  it.skipIf(skip)("says what to do when the email cannot be sent, or the hub has no public URL", async () => {
    const fakeMailer = harness.deps.mailer;
    harness.deps.mailer = { sendMagicLink: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:25")) };
    try {
      await expectAppError(
        (await harness.openBrowser().caller({ ip: nextIp() })).auth.requestMagicLink({ email: uniqueEmail("nomail") }),
        "INTERNAL",
        /^The sign-in email could not be sent: try again in a minute/,
      );
    } finally {
      harness.deps.mailer = fakeMailer;
    }
    const publicUrl = harness.deps.config.publicUrl;
    harness.deps.config.publicUrl = undefined;
    try {
      // Never built from the request's Host: that would let a forged Host mail a real token elsewhere.
      await expectAppError(
        (await harness.openBrowser().caller({ ip: nextIp(), host: "evil.example" })).auth.requestMagicLink({
          email: uniqueEmail("nourl"),
        }),
        "INTERNAL",
        /its operator must configure its public URL/,
      );
    } finally {
      harness.deps.config.publicUrl = publicUrl;
    }
  });

  it.skipIf(skip)("rejects a malformed address with a message saying what to fix", async () => {
    await expect((await harness.openBrowser().caller()).auth.requestMagicLink({ email: "not-an-email" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "email: Email is not a valid address: check it, for example you@example.com",
    });
  });

  it.skipIf(skip)("stores no session token, sign-in link token or API key in clear, in any table", async () => {
    const linkTokens = [
      ...harness.sentMail.map((mail) => new URL(mail.url).searchParams.get("token") ?? ""),
      ...inbox.messages.map((mail) => new URL(findSignInLink(mail)).searchParams.get("token") ?? ""),
    ];
    const all = [...secrets, ...linkTokens].filter((secret) => secret !== "");
    expect(all.length).toBeGreaterThan(60);
    const scan = await scanTablesForSecrets(harness, all);
    expect(scan.plaintextHits).toEqual([]);
    expect(scan.tables).toEqual(expect.arrayContaining(["api_keys", "magic_links", "sessions", "users"]));
    // A newer link replaces an address's unused ones, so at least one row per address is left.
    const addressesMailed = new Set(harness.sentMail.map((mail) => mail.to)).size;
    expect(scan.rowsByTable.magic_links).toBeGreaterThanOrEqual(addressesMailed);
    expect(scan.rowsByTable.sessions).toBeGreaterThan(10);
    // The digests are there: the scan read the rows that hold the credentials.
    expect(scan.hashesFound).toBeGreaterThanOrEqual(addressesMailed);
    // Control: something that is stored in clear (an address) is found, so a miss above means something.
    const address = harness.sentMail[0]?.to ?? "";
    expect((await scanTablesForSecrets(harness, [address])).plaintextHits).toContain(`magic_links: ${address.slice(0, 6)}...`);
  });
});
