// Sign-in and sign-out, API keys and member changes in the audit log: each event produced by the
// procedure a person or key really calls, with who did it and to what, and never a secret.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER_REQUIRED_FOR_MEMBERS, SIGN_IN_LINK_INVALID } from "../../errors.js";
import { expectAppError, type Harness, openHarness, type TestBrowser, testEngines } from "../../test-support/harness.js";
import { scanTablesForSecrets } from "../../test-support/scan-for-secrets.js";

const USER_AGENT = "Mozilla/5.0 (audit test)";

describe.each(testEngines)("account events in the audit log on $name", ({ name, skip }) => {
  let harness: Harness;
  const secrets: string[] = [];
  let counter = 0;
  const uniqueEmail = (tag: string) => `${tag}-${++counter}-${randomUUID().slice(0, 8)}@example.com`;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** The workspace's events of one type, oldest first, as the runtime reads them under RLS. */
  async function eventsOf(workspaceId: string, type: string) {
    return harness.db.withWorkspace(workspaceId, (tx) =>
      tx.auditEvent.findMany({
        where: { workspaceId, type },
        orderBy: [{ occurredAt: "asc" }, { action: "asc" }],
        select: {
          occurredAt: true,
          type: true,
          action: true,
          actorType: true,
          actorId: true,
          clientType: true,
          target: true,
          ip: true,
          userAgent: true,
          data: true,
        },
      }),
    );
  }

  /** Requests a link and uses it in `browser`, from `ip` with a browser's user agent. */
  async function signInWith(browser: TestBrowser, email: string, ip: string) {
    const before = harness.sentMail.length;
    await (await browser.caller({ ip })).auth.requestMagicLink({ email });
    const mail = harness.sentMail.slice(before).find((sent) => sent.to === email);
    const token = mail === undefined ? null : new URL(mail.url).searchParams.get("token");
    if (token === null) throw new Error(`no sign-in link for ${email}`);
    secrets.push(token);
    const signedIn = await (await browser.caller({ ip, userAgent: USER_AGENT })).auth.verifyMagicLink({ token });
    secrets.push(browser.cookies.get("pc_session") ?? "");
    return { ...signedIn, linkToken: token };
  }

  it.skipIf(skip)("records a sign-in and a sign-out in each of the user's workspaces, with the user as actor", async () => {
    const email = uniqueEmail("signs-in");
    const first = harness.openBrowser();
    // An hour ago, so the sign-ins and sign-out below (at real time) come after it.
    const firstAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    harness.setNow(firstAt);
    let signedIn: Awaited<ReturnType<typeof signInWith>>;
    try {
      signedIn = await signInWith(first, email, "198.51.100.7");
    } finally {
      harness.setNow(undefined);
    }
    const userId = signedIn.user.id;
    const home = signedIn.workspaces[0]?.id ?? "";
    // The first sign-in created the user's first workspace, and that workspace has it on record.
    const login = {
      type: "user",
      action: "login",
      actorType: "user",
      actorId: userId,
      clientType: null,
      target: email,
      ip: "198.51.100.7",
      userAgent: USER_AGENT,
      data: { userId, email, method: "magic_link" },
    };
    expect(await eventsOf(home, "user")).toEqual([{ ...login, occurredAt: firstAt }]);

    const second = (await (await first.caller()).workspaces.create({ name: "Second home" })).id;
    const laptop = harness.openBrowser();
    await signInWith(laptop, email, "::ffff:203.0.113.9");
    await (await laptop.caller({ ip: "203.0.113.9", userAgent: USER_AGENT })).auth.logout();
    // Already signed out: nothing more happens, so nothing more is recorded.
    await (await laptop.caller({ ip: "203.0.113.9" })).auth.logout();

    for (const workspaceId of [home, second]) {
      const events = await eventsOf(workspaceId, "user");
      const recent = events.slice(workspaceId === home ? 1 : 0);
      expect(recent).toEqual([
        { ...login, ip: "203.0.113.9", occurredAt: expect.any(Date) },
        {
          ...login,
          action: "logout",
          ip: "203.0.113.9",
          data: { userId, email },
          occurredAt: expect.any(Date),
        },
      ]);
    }
    // The browser that signed out is signed out; the other one still works and logged nothing.
    expect((await (await first.caller()).auth.me()).user.id).toBe(userId);
  });

  it.skipIf(skip)("records no sign-in for a used or unknown link", async () => {
    const browser = harness.openBrowser();
    const email = uniqueEmail("once");
    const signedIn = await signInWith(browser, email, "198.51.100.8");
    const home = signedIn.workspaces[0]?.id ?? "";
    await expectAppError(
      (await harness.openBrowser().caller({ ip: "198.51.100.66" })).auth.verifyMagicLink({ token: signedIn.linkToken }),
      "UNAUTHORIZED",
      SIGN_IN_LINK_INVALID,
    );
    expect((await eventsOf(home, "user")).map((event) => [event.action, event.ip])).toEqual([["login", "198.51.100.8"]]);
  });

  it.skipIf(skip)("records API key creation and revocation by who did it, by id and name, never the key", async () => {
    const owner = await harness.signIn(uniqueEmail("key-owner"));
    secrets.push(owner.sessionToken, owner.linkToken);
    const workspaceId = owner.workspaces[0]?.id ?? "";
    const byOwner = await (await owner.in(workspaceId)).apiKeys.create({ name: "ci" });
    secrets.push(byOwner.key);
    // A key minting the next one (how connect-hub's first key bootstraps automation).
    const byKey = await (await harness.caller(byOwner.key)).apiKeys.create({ name: "deploy" });
    secrets.push(byKey.key);
    await (await harness.caller(byOwner.key)).apiKeys.revoke({ id: byKey.id });
    // Revoking again answers with the first revocation and records nothing new.
    await (await owner.in(workspaceId)).apiKeys.revoke({ id: byKey.id });
    await (await owner.in(workspaceId)).apiKeys.revoke({ id: byOwner.id });

    const events = await eventsOf(workspaceId, "api_key");
    expect(events.map(({ action, actorType, actorId, target, data }) => ({ action, actorType, actorId, target, data }))).toEqual([
      {
        action: "create",
        actorType: "user",
        actorId: owner.userId,
        target: byOwner.id,
        data: { apiKeyId: byOwner.id, name: "ci" },
      },
      {
        action: "create",
        actorType: "api_key",
        actorId: byOwner.id,
        target: byKey.id,
        data: { apiKeyId: byKey.id, name: "deploy" },
      },
      {
        action: "revoke",
        actorType: "api_key",
        actorId: byOwner.id,
        target: byKey.id,
        data: { apiKeyId: byKey.id, name: "deploy" },
      },
      {
        action: "revoke",
        actorType: "user",
        actorId: owner.userId,
        target: byOwner.id,
        data: { apiKeyId: byOwner.id, name: "ci" },
      },
    ]);
  });

  it.skipIf(skip)("records invitations, role changes and removals with the owner who made them", async () => {
    const owner = await harness.signIn(uniqueEmail("team-owner"));
    secrets.push(owner.sessionToken, owner.linkToken);
    const workspaceId = owner.workspaces[0]?.id ?? "";
    const asOwner = () => owner.in(workspaceId);
    const alice = uniqueEmail("alice");
    const bob = uniqueEmail("bob");
    const invitedAlice = await (await asOwner()).members.invite({ email: alice, role: "member" });
    const invitedBob = await (await asOwner()).members.invite({ email: bob, role: "member" });
    // Each signs in with the mailed link and accepts: only then a member.
    const signInWithMail = async (email: string) => {
      const mail = harness.sentMail.findLast((sent) => sent.to === email);
      const token = mail === undefined ? null : new URL(mail.url).searchParams.get("token");
      if (token === null) throw new Error(`no invitation mailed to ${email}`);
      const browser = harness.openBrowser();
      const signedIn = await (await browser.caller()).auth.verifyMagicLink({ token });
      secrets.push(token, browser.cookies.get("pc_session") ?? "");
      return { browser, userId: signedIn.user.id };
    };
    const aliceUser = await signInWithMail(alice);
    await (await aliceUser.browser.caller()).invitations.accept({ id: invitedAlice.id });
    const bobUser = await signInWithMail(bob);
    await (await bobUser.browser.caller()).invitations.accept({ id: invitedBob.id });
    await (await asOwner()).members.setRole({ userId: aliceUser.userId, role: "owner" });
    // The role she already has: no change, no event.
    await (await asOwner()).members.setRole({ userId: aliceUser.userId, role: "owner" });
    await (await asOwner()).members.setRole({ userId: aliceUser.userId, role: "member" });
    await (await asOwner()).members.remove({ userId: aliceUser.userId });

    // A member may not manage others: refused, and nothing recorded.
    await expectAppError(
      (await bobUser.browser.caller({ workspaceId })).members.invite({ email: uniqueEmail("carol"), role: "member" }),
      "FORBIDDEN",
      OWNER_REQUIRED_FOR_MEMBERS,
    );
    // Bob leaves on his own: he is the actor of his removal.
    await (await bobUser.browser.caller({ workspaceId })).members.remove({ userId: bobUser.userId });

    const byOwner = { actorType: "user", actorId: owner.userId };
    const inviteData = (invitation: { id: string; expiresAt: string }, email: string) => ({
      invitationId: invitation.id,
      email,
      role: "member",
      expiresAt: invitation.expiresAt,
      renewed: false,
    });
    const events = await eventsOf(workspaceId, "member");
    expect(events.map(({ action, actorType, actorId, target, data }) => ({ action, actorType, actorId, target, data }))).toEqual([
      { action: "invite", ...byOwner, target: alice, data: inviteData(invitedAlice, alice) },
      { action: "invite", ...byOwner, target: bob, data: inviteData(invitedBob, bob) },
      {
        action: "accept_invitation",
        actorType: "user",
        actorId: aliceUser.userId,
        target: alice,
        data: { invitationId: invitedAlice.id, userId: aliceUser.userId, email: alice, role: "member" },
      },
      {
        action: "accept_invitation",
        actorType: "user",
        actorId: bobUser.userId,
        target: bob,
        data: { invitationId: invitedBob.id, userId: bobUser.userId, email: bob, role: "member" },
      },
      {
        action: "role_change",
        ...byOwner,
        target: alice,
        data: { userId: aliceUser.userId, email: alice, role: "owner", previousRole: "member" },
      },
      {
        action: "role_change",
        ...byOwner,
        target: alice,
        data: { userId: aliceUser.userId, email: alice, role: "member", previousRole: "owner" },
      },
      { action: "remove", ...byOwner, target: alice, data: { userId: aliceUser.userId, email: alice, role: "member" } },
      {
        action: "remove",
        actorType: "user",
        actorId: bobUser.userId,
        target: bob,
        data: { userId: bobUser.userId, email: bob, role: "member" },
      },
    ]);
    // Bob signed in before accepting, so his sign-in is not on this workspace's record.
    expect((await eventsOf(workspaceId, "user")).filter((event) => event.actorId === bobUser.userId)).toHaveLength(0);
  });

  it.skipIf(skip)("keeps every secret these actions handled out of the audit log", async () => {
    const rows = await harness.queryAsOwner("SELECT * FROM audit_events");
    expect(rows.length).toBeGreaterThan(10);
    const text = JSON.stringify(rows);
    for (const secret of secrets.filter((value) => value !== "")) expect(text).not.toContain(secret);
    expect(
      (
        await scanTablesForSecrets(
          harness,
          secrets.filter((value) => value !== ""),
        )
      ).plaintextHits,
    ).toEqual([]);
  });
});
