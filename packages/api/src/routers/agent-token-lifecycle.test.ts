import { sha256Hex } from "@private-connect/db";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_TOKEN_EXPIRED, AppError, INVALID_CREDENTIALS } from "../errors.js";
import { appRouter } from "../root.js";
import { type BareWorkspace, createBareWorkspace } from "../test-support/bare-workspace.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Calls the procedure at a dotted path on a caller with no input, and reads one value of a subscription. */
async function callPath(caller: unknown, path: string, type: string): Promise<unknown> {
  let target: unknown = caller;
  for (const part of path.split(".")) target = (target as Record<string, unknown>)[part];
  const result = await (target as (input: unknown) => Promise<unknown>)(undefined);
  if (type === "subscription") {
    const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    await iterator.next();
  }
  return result;
}

async function failureOf(promise: Promise<unknown>): Promise<AppError | Error | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof TRPCError && error.cause instanceof AppError) return error.cause;
    return error as Error;
  }
}

describe.each(testEngines)("agent token lifecycle on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspace: BareWorkspace;

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    workspace = await createBareWorkspace(harness.db, "Lifecycle");
  });

  afterAll(async () => {
    await harness?.close();
  });

  async function register(label: string): Promise<{ agentId: string; token: string; tokenExpiresAt: Date }> {
    const registered = await (await harness.caller(workspace.apiKey)).agents.register({ label });
    return { agentId: registered.agentId, token: registered.token, tokenExpiresAt: new Date(registered.tokenExpiresAt) };
  }

  it.skipIf(skip)("accepts a token until the millisecond before expiry and refuses it from that instant", async () => {
    const { token, tokenExpiresAt } = await register("edge");
    try {
      harness.setNow(new Date(tokenExpiresAt.getTime() - 1));
      await expect((await harness.caller(token)).agents.me()).resolves.toMatchObject({ label: "edge" });
      harness.setNow(tokenExpiresAt);
      await expectAppError((await harness.caller(token)).agents.me(), "TOKEN_EXPIRED", AGENT_TOKEN_EXPIRED);
      expect(AGENT_TOKEN_EXPIRED).toMatch(/connect up --api-key/);
      expect(AGENT_TOKEN_EXPIRED).toMatch(/connect login/);
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("refuses an expired token at every procedure that needs credentials, with TOKEN_EXPIRED", async () => {
    const { token, tokenExpiresAt } = await register("everywhere");
    const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>);
    expect(procedures.length).toBeGreaterThan(5);
    const signal = new AbortController();
    const checked: string[] = [];
    try {
      for (const [path, procedure] of procedures) {
        const type = procedure._def.type;
        // Without any credential: a procedure that answers something other than "missing
        // credentials" is public (deviceAuth.start/poll...), and takes no token to expire.
        const anonymous = await failureOf(callPath(await harness.caller(undefined, { signal: signal.signal }), path, type));
        if (!(anonymous instanceof AppError && anonymous.code === "UNAUTHORIZED")) continue;
        harness.setNow(new Date(tokenExpiresAt.getTime() + 1));
        const expired = await failureOf(callPath(await harness.caller(token, { signal: signal.signal }), path, type));
        harness.setNow(undefined);
        expect(expired, path).toBeInstanceOf(AppError);
        expect((expired as AppError).code, path).toBe("TOKEN_EXPIRED");
        checked.push(path);
      }
    } finally {
      harness.setNow(undefined);
      signal.abort();
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        "agents.me",
        "agents.rotateToken",
        "agents.confirmRotation",
        "services.list",
        "services.expose",
        "events.workspace",
        "deviceAuth.approve",
      ]),
    );
  });

  it.skipIf(skip)("keeps both tokens working during a rotation and only the new one after confirmation", async () => {
    const { agentId, token: oldToken } = await register("rotating");
    const rotated = await (await harness.caller(oldToken)).agents.rotateToken();
    expect(rotated.token).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated.token).not.toBe(oldToken);

    // Until confirmed, both authenticate as the same agent.
    expect((await (await harness.caller(oldToken)).agents.me()).isRotationPending).toBe(false);
    const asNew = await (await harness.caller(rotated.token)).agents.me();
    expect(asNew).toMatchObject({ agentId, isRotationPending: true, tokenExpiresAt: rotated.tokenExpiresAt });
    await expect((await harness.caller(oldToken)).services.list()).resolves.toEqual([]);
    await expect((await harness.caller(rotated.token)).services.list()).resolves.toEqual([]);

    // Only the new token may confirm, and a pending token may not start another rotation.
    await expectAppError((await harness.caller(oldToken)).agents.confirmRotation(), "BAD_REQUEST", /with the new token/);
    await expectAppError((await harness.caller(rotated.token)).agents.rotateToken(), "CONFLICT", /confirm it first/);

    const confirmed = await (await harness.caller(rotated.token)).agents.confirmRotation();
    expect(confirmed).toEqual({ tokenExpiresAt: rotated.tokenExpiresAt });
    await expectAppError((await harness.caller(oldToken)).agents.me(), "UNAUTHORIZED", INVALID_CREDENTIALS);
    expect(await (await harness.caller(rotated.token)).agents.me()).toMatchObject({ agentId, isRotationPending: false });
    // A retried confirmation (its answer lost) answers the same instead of failing.
    await expect((await harness.caller(rotated.token)).agents.confirmRotation()).resolves.toEqual(confirmed);

    // Stored only as hashes, current and pending alike.
    const again = await (await harness.caller(rotated.token)).agents.rotateToken();
    const row = await harness.db.withWorkspace(workspace.workspaceId, (tx) =>
      tx.agent.findFirst({ where: { id: agentId }, select: { tokenHash: true, pendingTokenHash: true, tokenRotatedAt: true } }),
    );
    expect(row).toMatchObject({ tokenHash: sha256Hex(rotated.token), pendingTokenHash: sha256Hex(again.token) });
    expect(row?.tokenRotatedAt).toBeInstanceOf(Date);
  });

  it.skipIf(skip)("replaces an unconfirmed pending token when the agent rotates again", async () => {
    const { token } = await register("lost-new-token");
    const first = await (await harness.caller(token)).agents.rotateToken();
    const second = await (await harness.caller(token)).agents.rotateToken();
    await expectAppError((await harness.caller(first.token)).agents.me(), "UNAUTHORIZED", INVALID_CREDENTIALS);
    await (await harness.caller(second.token)).agents.confirmRotation();
    await expectAppError((await harness.caller(token)).agents.me(), "UNAUTHORIZED", INVALID_CREDENTIALS);
  });

  it.skipIf(skip)("refuses rotation once the token has expired, pointing at a new registration", async () => {
    const { token, tokenExpiresAt } = await register("too-late");
    try {
      harness.setNow(tokenExpiresAt);
      await expectAppError((await harness.caller(token)).agents.rotateToken(), "TOKEN_EXPIRED", AGENT_TOKEN_EXPIRED);
    } finally {
      harness.setNow(undefined);
    }
    // An unconfirmed new token expires on its own schedule and cannot be confirmed after it.
    const { token: other } = await register("pending-expires");
    const pending = await (await harness.caller(other)).agents.rotateToken();
    try {
      harness.setNow(new Date(new Date(pending.tokenExpiresAt).getTime()));
      await expectAppError((await harness.caller(pending.token)).agents.confirmRotation(), "TOKEN_EXPIRED", AGENT_TOKEN_EXPIRED);
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("gives a rotated token a fresh lifetime of TOKEN_EXPIRY_DAYS", async () => {
    const { token } = await register("fresh");
    const now = new Date(Date.now() + 20 * DAY_MS);
    try {
      harness.setNow(now);
      const rotated = await (await harness.caller(token)).agents.rotateToken();
      expect(new Date(rotated.tokenExpiresAt).getTime()).toBe(now.getTime() + 30 * DAY_MS);
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("refuses to rotate or confirm with an API key, and a revoked agent's pending token", async () => {
    await expectAppError((await harness.caller(workspace.apiKey)).agents.rotateToken(), "FORBIDDEN", /needs an agent token/);
    const { agentId, token } = await register("revoked");
    const pending = await (await harness.caller(token)).agents.rotateToken();
    await harness.db.withWorkspace(workspace.workspaceId, (tx) =>
      tx.agent.update({ where: { id: agentId }, data: { revokedAt: new Date() } }),
    );
    await expectAppError(
      (await harness.caller(pending.token)).agents.confirmRotation(),
      "UNAUTHORIZED",
      "This agent was revoked by an owner of Lifecycle: ask them to let you in again",
    );
  });

  it.skipIf(skip)(
    "refuses a revoked agent's token at every procedure that takes credentials, saying it was revoked",
    async () => {
      const { agentId, token } = await register("revoked-everywhere");
      await (await harness.caller(workspace.apiKey)).agents.revoke({ agentId });
      const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>);
      const signal = new AbortController();
      const checked: string[] = [];
      try {
        for (const [path, procedure] of procedures) {
          const type = procedure._def.type;
          const anonymous = await failureOf(callPath(await harness.caller(undefined, { signal: signal.signal }), path, type));
          if (!(anonymous instanceof AppError && anonymous.code === "UNAUTHORIZED")) continue;
          const revoked = await failureOf(callPath(await harness.caller(token, { signal: signal.signal }), path, type));
          expect(revoked, path).toBeInstanceOf(AppError);
          expect((revoked as AppError).code, path).toBe("UNAUTHORIZED");
          expect((revoked as AppError).message, path).toBe(
            "This agent was revoked by an owner of Lifecycle: ask them to let you in again",
          );
          checked.push(path);
        }
      } finally {
        signal.abort();
      }
      expect(checked).toEqual(
        expect.arrayContaining([
          "agents.me",
          "agents.rotateToken",
          "agents.revoke",
          "services.list",
          "shares.create",
          "events.workspace",
        ]),
      );
    },
  );

  it.skipIf(skip)("caps rotations at TOKEN_MAX_LIFETIME_DAYS from registration, then asks for a new registration", async () => {
    const registeredAt = new Date(Date.now() - 1000);
    harness.setNow(registeredAt);
    let current: { token: string; tokenExpiresAt: Date };
    try {
      current = await register("rotates-forever");
      const cap = registeredAt.getTime() + 365 * DAY_MS;
      const expiries: number[] = [];
      // The attack: rotate a day before each expiry, for ever. Bounded: 365 days / 29 is 13 turns.
      for (let turn = 0; turn < 20; turn += 1) {
        harness.setNow(new Date(current.tokenExpiresAt.getTime() - DAY_MS));
        const rotation: { token: string; tokenExpiresAt: string } | Error = await (await harness.caller(current.token)).agents
          .rotateToken()
          .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
        if (rotation instanceof Error) {
          await expectAppError(
            Promise.reject(rotation),
            "FORBIDDEN",
            "This agent's token reached its maximum lifetime of 365 days: register it again with connect up --api-key <key> (or connect login)",
          );
          break;
        }
        await (await harness.caller(rotation.token)).agents.confirmRotation();
        current = { token: rotation.token, tokenExpiresAt: new Date(rotation.tokenExpiresAt) };
        expiries.push(current.tokenExpiresAt.getTime());
      }
      expect(expiries.length).toBeGreaterThan(10);
      expect(expiries.length).toBeLessThan(20);
      expect(Math.max(...expiries)).toBe(cap);
      expect(current.tokenExpiresAt.getTime()).toBe(cap);
      // agents.me says so ahead of time, and past the cap the token simply expires.
      const me = await (await harness.caller(current.token)).agents.me();
      expect(me.tokenMaxExpiresAt).toBe(new Date(cap).toISOString());
      harness.setNow(new Date(cap));
      await expectAppError((await harness.caller(current.token)).agents.me(), "TOKEN_EXPIRED", AGENT_TOKEN_EXPIRED);
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("takes the maximum lifetime from the hub's TOKEN_MAX_LIFETIME_DAYS", async () => {
    const { config } = harness.deps;
    config.tokenMaxLifetimeDays = 40;
    try {
      const { token, tokenExpiresAt } = await register("short-lived");
      harness.setNow(new Date(tokenExpiresAt.getTime() - DAY_MS));
      const rotated = await (await harness.caller(token)).agents.rotateToken();
      // 40 days from registration, not 29 + 30.
      expect(new Date(rotated.tokenExpiresAt).getTime()).toBe(tokenExpiresAt.getTime() - 30 * DAY_MS + 40 * DAY_MS);
    } finally {
      delete config.tokenMaxLifetimeDays;
      harness.setNow(undefined);
    }
  });
});
