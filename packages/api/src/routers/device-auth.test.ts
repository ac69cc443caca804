import { sha256Hex } from "@private-connect/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../root.js";
import { NO_PENDING_LOGIN } from "../services/device-auth/decide-device-authorization.js";
import { DEVICE_CODE_USED, UNKNOWN_DEVICE_CODE } from "../services/device-auth/poll-device-authorization.js";
import { DEVICE_STARTS_PER_WINDOW } from "../services/device-auth/start-rate-limit.js";
import { type BareWorkspace, createBareWorkspace } from "../test-support/bare-workspace.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";
import { createContextInner } from "../trpc.js";

const HUB_URL = "https://hub.example.com";
const USER_CODE = /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/;

describe.each(testEngines)("device login (deviceAuth) on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspace: BareWorkspace;
  let other: BareWorkspace;
  let ipCounter = 0;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    harness.deps.config.publicUrl = "https://app.example.com";
    workspace = await createBareWorkspace(harness.db, "Device A");
    other = await createBareWorkspace(harness.db, "Device B");
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** An anonymous caller from its own address, so the per-address start limit stays out of the way. */
  async function anonymous(ip = `10.0.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`) {
    return createCaller(await createContextInner({ deps: harness.deps, ip }));
  }

  /** Runs fn with the hub's public URL set to `publicUrl`, or unset. */
  async function withPublicUrl(publicUrl: string | undefined, fn: () => Promise<void>): Promise<void> {
    const { config } = harness.deps;
    const original = config.publicUrl;
    if (publicUrl === undefined) delete config.publicUrl;
    else config.publicUrl = publicUrl;
    try {
      await fn();
    } finally {
      if (original === undefined) delete config.publicUrl;
      else config.publicUrl = original;
    }
  }

  async function start(label = "laptop") {
    return (await anonymous()).deviceAuth.start({ label, hubUrl: HUB_URL });
  }

  it.skipIf(skip)("starts with a secret device code, a short user code and the page to approve it on", async () => {
    const before = Date.now();
    const started = await start();
    expect(started.deviceCode).toMatch(/^pcd_[0-9a-f]{64}$/);
    expect(started.userCode).toMatch(USER_CODE);
    expect(started.verificationUrl).toBe(`https://app.example.com/device?code=${started.userCode}`);
    const expiresIn = new Date(started.expiresAt).getTime() - before;
    expect(expiresIn).toBeGreaterThan(9.9 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(10 * 60_000 + 1_000);
    expect(started.intervalSeconds).toBe(5);
    expect(await (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode })).toEqual({ status: "pending" });
  });

  it.skipIf(skip)("links to the hub's public URL, else to the hub URL the caller used", async () => {
    await withPublicUrl("https://connect.example.org/", async () => {
      const started = await start();
      expect(started.verificationUrl).toBe(`https://connect.example.org/device?code=${started.userCode}`);
    });
    await withPublicUrl(undefined, async () => {
      const started = await start();
      expect(started.verificationUrl).toBe(`${HUB_URL}/device?code=${started.userCode}`);
      await expectAppError((await anonymous()).deviceAuth.start({ label: "x" }), "BAD_REQUEST", /no public URL configured/);
    });
  });

  it.skipIf(skip)("approves into the approver's workspace and hands the new agent its own token exactly once", async () => {
    const started = await start("build-box");
    // People type codes loosely: lower case, no dash.
    const typed = started.userCode.replace("-", "").toLowerCase();
    expect(await (await harness.caller(workspace.apiKey)).deviceAuth.approve({ userCode: typed })).toEqual({
      status: "approved",
      label: "build-box",
    });
    const approved = await (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode });
    if (approved.status !== "approved") throw new Error(`expected approved, got ${approved.status}`);
    expect(approved.token).toMatch(/^[0-9a-f]{64}$/);
    expect(approved.token.startsWith("pc_")).toBe(false);
    expect(approved.workspace).toEqual({ id: workspace.workspaceId, name: "Device A" });
    const me = await (await harness.caller(approved.token)).agents.me();
    expect(me).toMatchObject({ agentId: approved.agentId, label: "build-box", clientType: "cli", isProvisioned: false });
    expect(me.tokenExpiresAt).toBe(approved.tokenExpiresAt);

    // The code is spent: polling again, or deciding again from any workspace, is refused.
    await expectAppError((await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode }), "CONFLICT", DEVICE_CODE_USED);
    await expectAppError(
      (await harness.caller(other.apiKey)).deviceAuth.deny({ userCode: started.userCode }),
      "NOT_FOUND",
      NO_PENDING_LOGIN,
    );

    // Stored only as hashes: no column holds the device code, the user code or the token.
    const row = await harness.db.withWorkspace(workspace.workspaceId, (tx) =>
      tx.deviceAuthorization.findFirst({ where: { agentId: approved.agentId } }),
    );
    expect(row?.deviceCodeHash).toBe(sha256Hex(started.deviceCode));
    const stored = JSON.stringify(row);
    for (const secret of [started.deviceCode, started.userCode, started.userCode.replace("-", ""), approved.token]) {
      expect(stored).not.toContain(secret);
    }
    expect(row).toMatchObject({ status: "approved", decidedByApiKeyId: workspace.apiKeyId, decidedByUserId: null });
    // The other workspace sees nothing of it.
    expect(await harness.db.withWorkspace(other.workspaceId, (tx) => tx.deviceAuthorization.count())).toBe(0);
  });

  it.skipIf(skip)("lets a signed-in user approve into the workspace they act in", async () => {
    const user = await harness.signIn(`device-owner-${name}@example.com`);
    const userWorkspace = user.workspaces[0];
    if (userWorkspace === undefined) throw new Error("the first sign-in should create a workspace");
    const started = await start("users-laptop");
    expect(await (await user.in(userWorkspace.id)).deviceAuth.approve({ userCode: started.userCode })).toEqual({
      status: "approved",
      label: "users-laptop",
    });
    const approved = await (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode });
    expect(approved).toMatchObject({ status: "approved", workspace: { id: userWorkspace.id } });
    const row = await harness.db.withWorkspace(userWorkspace.id, (tx) =>
      tx.deviceAuthorization.findFirst({ where: { label: "users-laptop" }, select: { decidedByUserId: true } }),
    );
    expect(row?.decidedByUserId).toBe(user.userId);
  });

  it.skipIf(skip)("tells the machine it was denied, and a denied code cannot be approved after all", async () => {
    const started = await start();
    expect(await (await harness.caller(workspace.apiKey)).deviceAuth.deny({ userCode: started.userCode })).toEqual({
      status: "denied",
      label: "laptop",
    });
    expect(await (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode })).toEqual({ status: "denied" });
    await expectAppError(
      (await harness.caller(workspace.apiKey)).deviceAuth.approve({ userCode: started.userCode }),
      "NOT_FOUND",
      NO_PENDING_LOGIN,
    );
    expect(await (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode })).toEqual({ status: "denied" });
  });

  it.skipIf(skip)("expires after ten minutes: no approval, and no token even for an approval not collected in time", async () => {
    const started = await start();
    const approvedLate = await start();
    await (await harness.caller(workspace.apiKey)).deviceAuth.approve({ userCode: approvedLate.userCode });
    try {
      harness.setNow(new Date(started.expiresAt));
      expect(await (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode })).toEqual({ status: "expired" });
      await expectAppError(
        (await harness.caller(workspace.apiKey)).deviceAuth.approve({ userCode: started.userCode }),
        "NOT_FOUND",
        NO_PENDING_LOGIN,
      );
      harness.setNow(new Date(approvedLate.expiresAt));
      expect(await (await anonymous()).deviceAuth.poll({ deviceCode: approvedLate.deviceCode })).toEqual({ status: "expired" });
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("gives one of two simultaneous polls the token and refuses the other", async () => {
    const started = await start("race");
    await (await harness.caller(workspace.apiKey)).deviceAuth.approve({ userCode: started.userCode });
    const results = await Promise.allSettled([
      (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode }),
      (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode }),
    ]);
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    const agents = await harness.db.withWorkspace(workspace.workspaceId, (tx) => tx.agent.count({ where: { label: "race" } }));
    expect(agents).toBe(1);
  });

  it.skipIf(skip)("refuses unknown and malformed codes, and approval by an agent token", async () => {
    await expectAppError(
      (await anonymous()).deviceAuth.poll({ deviceCode: `pcd_${"0".repeat(64)}` }),
      "NOT_FOUND",
      UNKNOWN_DEVICE_CODE,
    );
    await expectAppError((await anonymous()).deviceAuth.poll({ deviceCode: "0".repeat(64) }), "NOT_FOUND", UNKNOWN_DEVICE_CODE);
    await expectAppError(
      (await harness.caller(workspace.apiKey)).deviceAuth.approve({ userCode: "0OI1-XXXX" }),
      "NOT_FOUND",
      NO_PENDING_LOGIN,
    );
    const started = await start();
    const { token } = await (await harness.caller(workspace.apiKey)).agents.register({ label: "agent" });
    await expectAppError(
      (await harness.caller(token)).deviceAuth.approve({ userCode: started.userCode }),
      "FORBIDDEN",
      /cannot approve/,
    );
    await expectAppError(
      (await anonymous()).deviceAuth.approve({ userCode: started.userCode }),
      "UNAUTHORIZED",
      /Missing credentials/,
    );
    expect(await (await anonymous()).deviceAuth.poll({ deviceCode: started.deviceCode })).toEqual({ status: "pending" });
  });

  it.skipIf(skip)(`limits starts to ${DEVICE_STARTS_PER_WINDOW} per address per window`, async () => {
    const ip = "192.0.2.77";
    for (let i = 0; i < DEVICE_STARTS_PER_WINDOW; i += 1)
      await (await anonymous(ip)).deviceAuth.start({ label: "x", hubUrl: HUB_URL });
    await expectAppError(
      (await anonymous(ip)).deviceAuth.start({ label: "x", hubUrl: HUB_URL }),
      "RATE_LIMITED",
      /^Too many logins started from this address: wait \d+ minute\(s\), then run connect login again$/,
    );
    // The same address written the IPv4-mapped way is the same address.
    await expectAppError(
      (await anonymous(`::ffff:${ip}`)).deviceAuth.start({ label: "x", hubUrl: HUB_URL }),
      "RATE_LIMITED",
      /Too many/,
    );
    await expect((await anonymous("192.0.2.78")).deviceAuth.start({ label: "x", hubUrl: HUB_URL })).resolves.toBeDefined();
    try {
      harness.setNow(new Date(Date.now() + 10 * 60_000 + 1));
      await expect((await anonymous(ip)).deviceAuth.start({ label: "x", hubUrl: HUB_URL })).resolves.toBeDefined();
    } finally {
      harness.setNow(undefined);
    }
  });
});
