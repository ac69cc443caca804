import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LAST_OWNER,
  MEMBER_NOT_FOUND,
  OWNER_REQUIRED_FOR_API_KEYS,
  OWNER_REQUIRED_FOR_MEMBERS,
  USER_SESSION_REQUIRED,
  WORKSPACE_NOT_FOUND,
} from "../errors.js";
import type { Revocation } from "../events/revocations.js";
import { INVITATION_NOT_FOUND } from "../services/members/invitation-view.js";
import { createAgentTeam } from "../test-support/agent-team.js";
import { expectAppError, type Harness, openHarness, type SignedInTestUser, testEngines } from "../test-support/harness.js";
import { scanTablesForSecrets } from "../test-support/scan-for-secrets.js";

describe.each(testEngines)("workspaces and members on $name", ({ name, skip }) => {
  let harness: Harness;
  const secrets: string[] = [];
  let counter = 0;
  const uniqueEmail = (tag: string) => `${tag}-${++counter}-${randomUUID().slice(0, 8)}@example.com`;

  async function signIn(tag: string): Promise<SignedInTestUser> {
    const user = await harness.signIn(uniqueEmail(tag));
    secrets.push(user.sessionToken, user.linkToken);
    return user;
  }

  /** Signs in with the link an invitation mailed, like the invited person clicking it. */
  async function signInWithInvitation(email: string): Promise<SignedInTestUser> {
    const mail = harness.sentMail.findLast((sent) => sent.to === email);
    const token = mail === undefined ? null : new URL(mail.url).searchParams.get("token");
    if (token === null) throw new Error(`no invitation mailed to ${email}`);
    const browser = harness.openBrowser();
    const signedIn = await (await browser.caller()).auth.verifyMagicLink({ token });
    const sessionToken = browser.cookies.get("pc_session") ?? "";
    secrets.push(sessionToken, token);
    return {
      browser,
      userId: signedIn.user.id,
      email,
      sessionToken,
      linkToken: token,
      workspaces: signedIn.workspaces,
      in: (workspaceId) => browser.caller({ workspaceId }),
    };
  }

  /** Signs in with the mailed link and accepts the invitation in the dashboard's way. */
  async function acceptInvitation(email: string): Promise<SignedInTestUser> {
    const invitee = await signInWithInvitation(email);
    const [invitation] = await (await invitee.browser.caller()).invitations.list();
    if (invitation === undefined) throw new Error(`no invitation open for ${email}`);
    await (await invitee.browser.caller()).invitations.accept({ id: invitation.id });
    return { ...invitee, workspaces: (await (await invitee.browser.caller()).auth.me()).workspaces };
  }

  /** An owner with a fresh workspace, and a member they invited who signed in with the invitation. */
  async function createTeam(tag: string) {
    const owner = await signIn(`${tag}-owner`);
    const workspace = await (await owner.browser.caller()).workspaces.create({ name: `Team ${tag}` });
    const memberEmail = uniqueEmail(`${tag}-member`);
    const invited = await (await owner.in(workspace.id)).members.invite({ email: memberEmail });
    const member = await acceptInvitation(memberEmail);
    return { owner, member, workspace, invited };
  }

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("creates a workspace owned by the signed-in user, listed by auth.me", async () => {
    const user = await signIn("creator");
    const created = await (await user.browser.caller()).workspaces.create({ name: "  Acme Labs " });
    expect(created).toEqual({
      id: expect.any(String),
      name: "Acme Labs",
      slug: expect.stringMatching(/^acme-labs/),
      role: "owner",
    });
    const me = await (await user.browser.caller()).auth.me();
    expect(me.workspaces).toEqual(expect.arrayContaining([created, ...user.workspaces]));
    expect(me.workspaces).toHaveLength(2);
    const members = await (await user.in(created.id)).members.list();
    expect(members).toEqual([{ userId: user.userId, email: user.email, role: "owner", joinedAt: expect.any(String) }]);
  });

  it.skipIf(skip)(
    "invites a new address: no account until they sign in, then an invitation to accept, with no workspace of their own",
    async () => {
      const owner = await signIn("new-owner");
      const workspace = await (await owner.browser.caller()).workspaces.create({ name: "Team new-address" });
      const email = uniqueEmail("new-address");
      const invited = await (await owner.in(workspace.id)).members.invite({ email });
      expect(invited).toEqual({
        id: expect.any(String),
        email,
        role: "member",
        invitedAt: expect.any(String),
        expiresAt: expect.any(String),
      });
      // Inviting creates no account for an address nobody has signed in with.
      expect(await harness.queryAsOwner(`SELECT id FROM users WHERE email = '${email}'`)).toEqual([]);
      const invitee = await signInWithInvitation(email);
      expect(invitee.workspaces).toEqual([]);
      expect(await (await invitee.browser.caller()).invitations.list()).toEqual([
        {
          id: invited.id,
          workspace: { id: workspace.id, name: workspace.name, slug: workspace.slug },
          role: "member",
          invitedBy: owner.email,
          invitedAt: invited.invitedAt,
          expiresAt: invited.expiresAt,
        },
      ]);
      expect(await (await invitee.browser.caller()).invitations.accept({ id: invited.id })).toEqual({
        ...workspace,
        role: "member",
      });
      const member = { ...invitee, workspaces: (await (await invitee.browser.caller()).auth.me()).workspaces };
      expect(member.workspaces).toEqual([{ ...workspace, role: "member" }]);
      expect(member.browser.cookies.has("pc_session")).toBe(true);
      const listed = await (await member.in(workspace.id)).members.list();
      expect(listed.map(({ email, role }) => ({ email, role }))).toEqual([
        { email: owner.email, role: "owner" },
        { email: member.email, role: "member" },
      ]);
      // Inviting again is a conflict, whatever case the address is typed in.
      await expectAppError(
        (await owner.in(workspace.id)).members.invite({ email: member.email.toUpperCase() }),
        "CONFLICT",
        `${member.email} is already a member of this workspace: change their role with members.setRole`,
      );
    },
  );

  it.skipIf(skip)(
    "invites an existing account as a pending invitation: no member, no access, until they accept it themselves",
    async () => {
      const { owner, workspace } = await createTeam("coowner");
      const existing = await signIn("existing");
      const invited = await (await owner.in(workspace.id)).members.invite({ email: existing.email, role: "owner" });
      expect(invited).toMatchObject({ email: existing.email, role: "owner" });
      // The attack: put someone's account into a workspace they never agreed to join. They are not
      // in it, and it cannot be read as them.
      expect((await (await existing.browser.caller()).auth.me()).workspaces).toEqual(existing.workspaces);
      await expectAppError((await existing.in(workspace.id)).members.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);
      await expectAppError((await existing.in(workspace.id)).services.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);
      const asOwner = await owner.in(workspace.id);
      expect((await asOwner.members.list()).map((member) => member.email)).not.toContain(existing.email);
      expect(await asOwner.members.invitations()).toEqual([invited]);

      // Someone else signed in cannot see or accept it, even with its id.
      const outsider = await signIn("invitation-thief");
      expect(await (await outsider.browser.caller()).invitations.list()).toEqual([]);
      await expectAppError(
        (await outsider.browser.caller()).invitations.accept({ id: invited.id }),
        "NOT_FOUND",
        INVITATION_NOT_FOUND,
      );
      await expectAppError(
        (await outsider.browser.caller()).invitations.decline({ id: invited.id }),
        "NOT_FOUND",
        INVITATION_NOT_FOUND,
      );
      await expectAppError((await outsider.in(workspace.id)).members.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);
      // Nor can a member of the workspace accept on the invitee's behalf.
      const { member } = await createTeam("coowner-member");
      await expectAppError(
        (await member.browser.caller()).invitations.accept({ id: invited.id }),
        "NOT_FOUND",
        INVITATION_NOT_FOUND,
      );

      // The invitee accepts: only now a member, with the role they were invited with.
      const [offered] = await (await existing.browser.caller()).invitations.list();
      expect(offered).toMatchObject({ id: invited.id, workspace: { id: workspace.id }, role: "owner", invitedBy: owner.email });
      expect(await (await existing.browser.caller()).invitations.accept({ id: invited.id })).toEqual({
        ...workspace,
        role: "owner",
      });
      const me = await (await existing.browser.caller()).auth.me();
      expect(me.workspaces).toEqual(expect.arrayContaining([{ ...workspace, role: "owner" }]));
      expect((await (await existing.in(workspace.id)).members.list()).map((member) => member.email)).toContain(existing.email);
      // Used up: listed nowhere, and a second accept is refused.
      expect(await (await existing.browser.caller()).invitations.list()).toEqual([]);
      expect(await (await owner.in(workspace.id)).members.invitations()).toEqual([]);
      await expectAppError(
        (await existing.browser.caller()).invitations.accept({ id: invited.id }),
        "NOT_FOUND",
        INVITATION_NOT_FOUND,
      );
    },
  );

  it.skipIf(skip)(
    "lets the invitee decline, owners cancel and renew, and lets nobody accept an ended or expired one",
    async () => {
      const { owner, member, workspace } = await createTeam("answers");
      const asOwner = async () => owner.in(workspace.id);
      const decliner = await signIn("decliner");
      const declined = await (await asOwner()).members.invite({ email: decliner.email });
      expect(await (await decliner.browser.caller()).invitations.decline({ id: declined.id })).toEqual({ declined: true });
      await expectAppError(
        (await decliner.browser.caller()).invitations.accept({ id: declined.id }),
        "NOT_FOUND",
        INVITATION_NOT_FOUND,
      );
      expect(await (await asOwner()).members.invitations()).toEqual([]);

      const cancelled = await signIn("cancelled");
      const first = await (await asOwner()).members.invite({ email: cancelled.email });
      // Inviting again renews the same invitation (the role too) instead of stacking a second one.
      const renewed = await (await asOwner()).members.invite({ email: cancelled.email.toUpperCase(), role: "owner" });
      expect(renewed).toMatchObject({ id: first.id, role: "owner" });
      expect(await (await asOwner()).members.invitations()).toEqual([renewed]);
      // Only an owner of this workspace cancels.
      await expectAppError(
        (await member.in(workspace.id)).members.cancelInvitation({ id: first.id }),
        "FORBIDDEN",
        OWNER_REQUIRED_FOR_MEMBERS,
      );
      const other = await signIn("other-owner");
      await expectAppError(
        (await other.in(other.workspaces[0]?.id ?? "")).members.cancelInvitation({ id: first.id }),
        "NOT_FOUND",
        INVITATION_NOT_FOUND,
      );
      expect(await (await asOwner()).members.cancelInvitation({ id: first.id })).toMatchObject({
        id: first.id,
        email: cancelled.email,
      });
      await expectAppError(
        (await cancelled.browser.caller()).invitations.accept({ id: first.id }),
        "NOT_FOUND",
        INVITATION_NOT_FOUND,
      );

      const late = await signIn("late");
      const expiring = await (await asOwner()).members.invite({ email: late.email });
      harness.setNow(new Date(Date.parse(expiring.expiresAt) + 1_000));
      try {
        expect(await (await late.browser.caller()).invitations.list()).toEqual([]);
        await expectAppError(
          (await late.browser.caller()).invitations.accept({ id: expiring.id }),
          "NOT_FOUND",
          INVITATION_NOT_FOUND,
        );
      } finally {
        harness.setNow(undefined);
      }
      // None of them became a member.
      expect((await (await asOwner()).members.list()).map((listed) => listed.email)).toEqual([owner.email, member.email]);
    },
  );

  it.skipIf(skip)("refuses a member every owner action, with a message saying who can", async () => {
    const { owner, member, workspace } = await createTeam("roles");
    const asMember = await member.in(workspace.id);
    await expectAppError(asMember.members.invite({ email: uniqueEmail("nope") }), "FORBIDDEN", OWNER_REQUIRED_FOR_MEMBERS);
    await expectAppError(asMember.members.remove({ userId: owner.userId }), "FORBIDDEN", OWNER_REQUIRED_FOR_MEMBERS);
    await expectAppError(
      asMember.members.setRole({ userId: member.userId, role: "owner" }),
      "FORBIDDEN",
      OWNER_REQUIRED_FOR_MEMBERS,
    );
    await expectAppError(asMember.apiKeys.create({ name: "sneaky" }), "FORBIDDEN", OWNER_REQUIRED_FOR_API_KEYS);
    await expectAppError(asMember.apiKeys.list(), "FORBIDDEN", OWNER_REQUIRED_FOR_API_KEYS);
    await expectAppError(asMember.apiKeys.revoke({ id: randomUUID() }), "FORBIDDEN", OWNER_REQUIRED_FOR_API_KEYS);
    // Nothing changed.
    const listed = await (await owner.in(workspace.id)).members.list();
    expect(listed.map(({ userId, role }) => ({ userId, role }))).toEqual([
      { userId: owner.userId, role: "owner" },
      { userId: member.userId, role: "member" },
    ]);
    expect(await (await owner.in(workspace.id)).apiKeys.list()).toEqual([]);
  });

  it.skipIf(skip)("keeps members management for signed-in owners: API keys may list members, agents nothing", async () => {
    const { workspaceId, apiKey } = await harness.createTestWorkspace();
    secrets.push(apiKey);
    const asKey = await harness.caller(apiKey);
    expect((await asKey.members.list()).map((member) => member.role)).toEqual(["owner"]);
    await expectAppError(asKey.members.invite({ email: uniqueEmail("bykey") }), "FORBIDDEN", USER_SESSION_REQUIRED);
    const { token } = await harness.registerTestAgent(apiKey, "member-lister");
    secrets.push(token);
    await expectAppError((await harness.caller(token)).members.list(), "FORBIDDEN", /^Agent tokens cannot list members/);
    expect(workspaceId).toBeDefined();
  });

  it.skipIf(skip)("never leaves a workspace without an owner", async () => {
    const { owner, member, workspace } = await createTeam("lastowner");
    const asOwner = await owner.in(workspace.id);
    await expectAppError(asOwner.members.setRole({ userId: owner.userId, role: "member" }), "CONFLICT", LAST_OWNER);
    await expectAppError(asOwner.members.remove({ userId: owner.userId }), "CONFLICT", LAST_OWNER);

    // With a second owner, the first may step down and then leave.
    expect(await asOwner.members.setRole({ userId: member.userId, role: "owner" })).toMatchObject({ role: "owner" });
    expect(await (await owner.in(workspace.id)).members.setRole({ userId: owner.userId, role: "member" })).toMatchObject({
      role: "member",
    });
    await expectAppError(
      (await member.in(workspace.id)).members.setRole({ userId: member.userId, role: "member" }),
      "CONFLICT",
      LAST_OWNER,
    );
    expect(await (await owner.in(workspace.id)).members.remove({ userId: owner.userId })).toEqual({ removed: true });
    expect((await (await member.in(workspace.id)).members.list()).map((listed) => listed.userId)).toEqual([member.userId]);
  });

  it.skipIf(skip)("lets only one of two owners demoting each other at the same moment succeed", async () => {
    const { owner, member, workspace } = await createTeam("race");
    await (await owner.in(workspace.id)).members.setRole({ userId: member.userId, role: "owner" });
    const outcomes = await Promise.allSettled([
      (await owner.in(workspace.id)).members.setRole({ userId: member.userId, role: "member" }),
      (await member.in(workspace.id)).members.setRole({ userId: owner.userId, role: "member" }),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
    const roles = (await harness.queryAsOwner(
      `SELECT role FROM memberships WHERE workspace_id = '${workspace.id}' ORDER BY role`,
    )) as { role: string }[];
    expect(roles.map((row) => row.role)).toEqual(["member", "owner"]);
  });

  it.skipIf(skip)("lets a member leave, and locks a removed member out of the workspace on their next request", async () => {
    const { owner, member, workspace } = await createTeam("leave");
    const second = await acceptInvitation(
      (await (await owner.in(workspace.id)).members.invite({ email: uniqueEmail("leave-second") })).email,
    );
    expect(await (await second.in(workspace.id)).members.remove({ userId: second.userId })).toEqual({ removed: true });
    await expectAppError((await second.in(workspace.id)).members.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);

    const asMember = await member.in(workspace.id);
    expect((await asMember.members.list()).length).toBe(2);
    await (await owner.in(workspace.id)).members.remove({ userId: member.userId });
    await expectAppError((await member.in(workspace.id)).members.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);
    expect((await (await member.browser.caller()).auth.me()).workspaces).toEqual([]);
  });

  it.skipIf(skip)(
    "gives an outsider NOT_FOUND for this workspace's members, from their own workspace or by switching to it",
    async () => {
      const { owner, member, workspace } = await createTeam("outsider-target");
      const outsider = await signIn("outsider");
      const outsiderWorkspace = outsider.workspaces[0]?.id ?? "";

      await expectAppError((await outsider.in(workspace.id)).members.list(), "NOT_FOUND", WORKSPACE_NOT_FOUND);
      await expectAppError(
        (await outsider.in(workspace.id)).members.invite({ email: uniqueEmail("x") }),
        "NOT_FOUND",
        WORKSPACE_NOT_FOUND,
      );
      const asOutsider = await outsider.in(outsiderWorkspace);
      await expectAppError(asOutsider.members.remove({ userId: member.userId }), "NOT_FOUND", MEMBER_NOT_FOUND);
      await expectAppError(asOutsider.members.setRole({ userId: owner.userId, role: "member" }), "NOT_FOUND", MEMBER_NOT_FOUND);
      await expectAppError(asOutsider.members.remove({ userId: randomUUID() }), "NOT_FOUND", MEMBER_NOT_FOUND);
      // The outsider's own list shows only themselves: no user of the other workspace leaks in.
      expect((await asOutsider.members.list()).map((listed) => listed.email)).toEqual([outsider.email]);
      // And nothing happened to the target workspace.
      expect((await (await owner.in(workspace.id)).members.list()).map((listed) => listed.role)).toEqual(["owner", "member"]);
    },
  );

  it.skipIf(skip)("revokes the agents a removed member let in, at once, and leaves everyone else's", async () => {
    const team = await createAgentTeam(harness, "departing");
    secrets.push(team.apiKey, team.owner.sessionToken, team.member.sessionToken, team.owner.linkToken, team.member.linkToken);
    // The attack: the member's connect-login laptop could list services and share prod-db out.
    const laptop = await team.login("member-laptop", team.member);
    const ownerLaptop = await team.login("owner-laptop", team.owner);
    const server = await team.register("server");
    await expect((await harness.caller(laptop.token)).services.list()).resolves.toEqual([]);
    const published: Revocation[] = [];
    const stop = harness.deps.revocations.subscribe((revocation) => published.push(revocation));
    try {
      await (await team.owner.in(team.workspaceId)).members.remove({ userId: team.member.userId });
      const expected = `This agent was revoked by an owner of ${team.workspaceName} (the member who let it in was removed from the workspace): ask them to let you in again`;
      await expectAppError((await harness.caller(laptop.token)).services.list(), "UNAUTHORIZED", expected);
      await expectAppError(
        (await harness.caller(laptop.token)).shares.create({ name: "exfil", services: ["prod-db"] }),
        "UNAUTHORIZED",
        expected,
      );
      expect(published).toEqual([
        { kind: "agent", agentId: laptop.agentId, workspaceId: team.workspaceId, reason: expected },
        // Ends the member's open live updates of this workspace (events.test.ts).
        {
          kind: "member",
          userId: team.member.userId,
          workspaceId: team.workspaceId,
          reason: `You no longer have access to ${team.workspaceName}: an owner removed you. Ask an owner to invite you again`,
        },
      ]);
      for (const agent of [ownerLaptop, server]) {
        await expect((await harness.caller(agent.token)).agents.me()).resolves.toMatchObject({ agentId: agent.agentId });
      }
      const audit = await harness.db.withWorkspace(team.workspaceId, (tx) =>
        tx.auditEvent.findFirst({
          where: { workspaceId: team.workspaceId, type: "agent", action: "revoke", target: laptop.agentId },
          select: { actorType: true, actorId: true, reason: true },
        }),
      );
      expect(audit).toEqual({ actorType: "user", actorId: team.owner.userId, reason: "member_removed" });
    } finally {
      stop();
    }
  });

  it.skipIf(skip)("stores no session token, sign-in link token or API key in clear, in any table", async () => {
    const linkTokens = harness.sentMail.map((mail) => new URL(mail.url).searchParams.get("token") ?? "");
    const scan = await scanTablesForSecrets(harness, [...secrets, ...linkTokens]);
    expect(scan.plaintextHits).toEqual([]);
    expect(scan.rowsByTable.sessions).toBeGreaterThan(10);
    expect(scan.hashesFound).toBeGreaterThanOrEqual(linkTokens.length);
  });
});
