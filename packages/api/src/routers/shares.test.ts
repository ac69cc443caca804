import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { sha256Hex } from "@private-connect/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPrincipal } from "../deps.js";
import { SERVICE_NOT_FOUND } from "../errors.js";
import type { Revocation } from "../events/revocations.js";
import { readAgentCredential } from "../services/agents/read-agent-credential.js";
import { authorizeStreamOpen } from "../services/services/authorize-stream-open.js";
import { joinShare, SHARE_CODE_NOT_VALID, SHARE_JOINS_PER_WINDOW } from "../services/shares/join-share.js";
import { SECRET_HASH_KEY_MISMATCH } from "../services/shares/keyed-hash.js";
import { rekeyLegacyHashes } from "../services/shares/rekey-legacy-hashes.js";
import { SHARE_NOT_FOUND } from "../services/shares/revoke-share.js";
import { SHARE_CODE_HINT_SYMBOLS, SHARE_CODE_SYMBOLS } from "../services/shares/share-codes.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";

const SHARE_CODE_FORMAT = /^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$/;

/** What the hub stores: HMAC-SHA-256 under a key derived from ENCRYPTION_KEY (HKDF-SHA-256). */
function hmacHex(encryptionKey: Uint8Array, text: string): string {
  const key = hkdfSync("sha256", encryptionKey, new Uint8Array(0), "private-connect share codes and link slugs v1", 32);
  return createHmac("sha256", Buffer.from(key)).update(text, "utf8").digest("hex");
}

interface TestAgent {
  agentId: string;
  token: string;
  workspaceId: string;
  label: string;
}

describe.each(testEngines)("shares on $name", ({ name, skip }) => {
  let harness: Harness;
  let keyA: string;
  let keyB: string;
  let keyC: string;
  let serverA: TestAgent;
  let laptopB: TestAgent;
  let otherB: TestAgent;
  let serverC: TestAgent;
  const revocations: Revocation[] = [];

  async function agent(apiKey: string, workspaceId: string, label: string): Promise<TestAgent> {
    const registered = await harness.registerTestAgent(apiKey, label);
    return { ...registered, workspaceId, label };
  }

  /** The principal the relay builds for an agent's connection. */
  async function principalOf(test: TestAgent): Promise<AgentPrincipal> {
    const credential = await readAgentCredential(harness.deps, {
      kind: "agent",
      agentId: test.agentId,
      workspaceId: test.workspaceId,
      label: test.label,
      clientType: "cli",
      tokenExpiresAt: new Date(Date.now() + 86_400_000),
    });
    return {
      kind: "agent",
      agentId: test.agentId,
      workspaceId: test.workspaceId,
      label: test.label,
      clientType: "cli",
      tokenExpiresAt: credential?.tokenExpiresAt ?? new Date(),
    };
  }

  /** An agent of a workspace of its own, so what it joins changes no other test's answers. */
  async function freshJoiner(label: string): Promise<TestAgent> {
    const workspace = await harness.createTestWorkspace(`Joiner ${label}`);
    return agent(workspace.apiKey, workspace.workspaceId, label);
  }

  function secretKey(): Uint8Array {
    const key = harness.deps.config.secretHashKey;
    if (key === undefined) throw new Error("the harness has no secretHashKey");
    return key;
  }

  async function open(test: TestAgent, service: string, from?: string) {
    return authorizeStreamOpen(harness.deps, await principalOf(test), { service, from }, { ip: "203.0.113.7" });
  }

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    harness.deps.revocations.subscribe((revocation) => revocations.push(revocation));
    const a = await harness.createTestWorkspace("Acme");
    const b = await harness.createTestWorkspace("Contractor");
    const c = await harness.createTestWorkspace("Other Corp");
    keyA = a.apiKey;
    keyB = b.apiKey;
    keyC = c.apiKey;
    serverA = await agent(keyA, a.workspaceId, "db-server");
    laptopB = await agent(keyB, b.workspaceId, "laptop");
    otherB = await agent(keyB, b.workspaceId, "ci-runner");
    serverC = await agent(keyC, c.workspaceId, "c-server");
    const asServerA = await harness.caller(serverA.token);
    await asServerA.services.expose({ name: "prod-db", targetHost: "127.0.0.1", targetPort: 5432 });
    await asServerA.services.expose({ name: "redis", targetHost: "127.0.0.1", targetPort: 6379 });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("prints a readable 80-bit code once and stores only a keyed hash a database copy cannot test", async () => {
    const created = await (await harness.caller(serverA.token)).shares.create({ name: "hash-check", services: ["redis"] });
    expect(created.code).toMatch(SHARE_CODE_FORMAT);
    const canonical = created.code.replaceAll("-", "");
    // The attacker's view: a copy of the row, and the code format (alphabet, length, hint).
    const rows = await harness.queryAsOwner(
      `SELECT to_jsonb(s)::text AS row, code_hash, code_hint FROM shares s WHERE id = '${created.id}'`,
    );
    const row = String(rows[0]?.row);
    expect(row).not.toContain(created.code);
    expect(row).not.toContain(canonical);
    // What the copy would need to test a guess offline: neither the bare SHA-256 (as before) nor an
    // HMAC under any key but the hub's matches the stored value.
    expect(row).not.toContain(sha256Hex(canonical));
    expect(rows[0]?.code_hash).not.toBe(hmacHex(randomBytes(32), sha256Hex(canonical)));
    expect(rows[0]?.code_hash).toBe(hmacHex(secretKey(), sha256Hex(canonical)));
    // The hint is the only part of the code at rest: what it leaves unknown is at least 60 bits.
    expect(rows[0]?.code_hint).toBe(created.code.slice(0, SHARE_CODE_HINT_SYMBOLS));
    const alphabetBits = Math.log2(new Set("23456789ABCDEFGHJKLMNPQRSTUVWXYZ").size);
    const symbols = canonical.length;
    expect(symbols).toBe(SHARE_CODE_SYMBOLS);
    expect((symbols - String(rows[0]?.code_hint).length) * alphabetBits).toBeGreaterThanOrEqual(60);
    // Codes differ every time (a sample of many: no repeats, no fixed prefix).
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) codes.add((await (await harness.caller(keyA)).shares.create({ name: `n${i}` })).code);
    expect(codes.size).toBe(20);
  });

  it.skipIf(skip)("keeps codes from before keyed hashes working once the hub rewrites them, and never in clear", async () => {
    // A share as the previous version stored it: SHA-256 of a three-group code, with its hint.
    const legacyCode = "K7QX-9MZP-R2TW";
    const legacyHash = sha256Hex(legacyCode.replaceAll("-", ""));
    const inserted = await harness.queryAsOwner(
      `INSERT INTO shares (workspace_id, name, code_hash, code_hash_keyed, code_hint, services, created_by_type, created_by_id, expires_at)
       VALUES ('${serverA.workspaceId}', 'legacy', '${legacyHash}', false, '', ARRAY['redis'], 'agent', '${serverA.agentId}',
               now() + interval '1 day') RETURNING id`,
    );
    const shareId = String(inserted[0]?.id);
    const joiner = await freshJoiner("legacy-joiner");
    const joinAsC = async () => joinShare(harness.deps, await principalOf(joiner), { code: legacyCode }, "198.51.100.21");
    // Unkeyed rows match no lookup: the bare SHA-256 is no way in.
    await expectAppError(joinAsC(), "NOT_FOUND", SHARE_CODE_NOT_VALID);

    expect(await rekeyLegacyHashes(harness.deps)).toEqual({ isKeyMismatch: false, rekeyed: expect.any(Number) });
    const rows = await harness.queryAsOwner(`SELECT code_hash, code_hash_keyed FROM shares WHERE id = '${shareId}'`);
    expect(rows[0]).toEqual({ code_hash: hmacHex(secretKey(), legacyHash), code_hash_keyed: true });
    expect(await joinAsC()).toMatchObject({ shareId, shareName: "legacy", services: ["redis"] });
    // Running again (the next start, another hub) changes nothing.
    expect(await rekeyLegacyHashes(harness.deps)).toEqual({ isKeyMismatch: false, rekeyed: 0 });
  });

  it.skipIf(skip)("tells a hub with another ENCRYPTION_KEY why no code matches, and rewrites nothing with it", async () => {
    const created = await (await harness.caller(serverA.token)).shares.create({ name: "other-key", services: ["redis"] });
    // The hub that made the code has started once: its key is the one on record.
    await rekeyLegacyHashes(harness.deps);
    const otherHub = { ...harness.deps, config: { ...harness.deps.config, secretHashKey: randomBytes(32) } };
    const principal = await principalOf(await freshJoiner("other-key-joiner"));
    await expectAppError(
      joinShare(otherHub, principal, { code: created.code }, "198.51.100.22"),
      "UNAVAILABLE",
      SECRET_HASH_KEY_MISMATCH,
    );
    expect(await rekeyLegacyHashes(otherHub)).toEqual({ isKeyMismatch: true, rekeyed: 0 });
    // The right key still joins.
    expect(await joinShare(harness.deps, principal, { code: created.code }, "198.51.100.22")).toMatchObject({
      shareId: created.id,
    });
  });

  it.skipIf(skip)("snapshots the exposed services when no list is given, and checks a given list", async () => {
    const asA = await harness.caller(serverA.token);
    const all = await asA.shares.create({ name: "everything" });
    expect(all.services).toEqual(["prod-db", "redis"]);
    await expectAppError(
      asA.shares.create({ name: "typo", services: ["prod-db", "nope"] }),
      "NOT_FOUND",
      /Service not found in this workspace: nope/,
    );
    // A workspace with nothing exposed has nothing to share.
    await expectAppError((await harness.caller(keyB)).shares.create({ name: "empty" }), "BAD_REQUEST", /exposes no services yet/);
    await expect(asA.shares.create({ name: "short", expiresInSeconds: 5 })).rejects.toThrow(/at least 1 minute/);
    await expect(asA.shares.create({ name: "bad", services: ["Not A Name"] })).rejects.toThrow(/Service name must be/);
  });

  it.skipIf(skip)("lets a joined agent of another workspace reach exactly the shared services", async () => {
    const created = await (await harness.caller(serverA.token)).shares.create({
      name: "acme-contractor",
      services: ["prod-db"],
      expiresInSeconds: 3_600,
    });
    // Before joining: nothing.
    await expectAppError(open(laptopB, "prod-db"), "NOT_FOUND", SERVICE_NOT_FOUND);
    // People retype codes: lower case and without dashes work too.
    const joined = await (await harness.caller(laptopB.token)).shares.join({
      code: created.code.toLowerCase().replaceAll("-", ""),
    });
    expect(joined).toMatchObject({ shareName: "acme-contractor", from: "acme", services: ["prod-db"], status: "active" });

    const route = await open(laptopB, "prod-db");
    expect(route).toMatchObject({ agentId: serverA.agentId, serviceName: "prod-db", workspaceId: serverA.workspaceId });
    expect(route.share?.id).toBe(created.id);
    // Not shared, so not reachable, and said exactly like a name that exists nowhere.
    await expectAppError(open(laptopB, "redis"), "NOT_FOUND", SERVICE_NOT_FOUND);
    await expectAppError(open(laptopB, "does-not-exist"), "NOT_FOUND", SERVICE_NOT_FOUND);
    // The grant is the joining agent's, not its whole workspace's.
    await expectAppError(open(otherB, "prod-db"), "NOT_FOUND", SERVICE_NOT_FOUND);
    // reach's early check gives the same answers.
    expect(await (await harness.caller(laptopB.token)).services.resolve({ name: "prod-db" })).toEqual({
      name: "prod-db",
      from: "acme",
      shareName: "acme-contractor",
      // The sharing workspace's agent: the one the joiner runs its handshake with and pins.
      agent: { id: serverA.agentId, label: "db-server", workspaceId: serverA.workspaceId },
      e2e: { policy: "preferred", publicKey: null },
    });
    await expectAppError(
      (await harness.caller(otherB.token)).services.resolve({ name: "prod-db" }),
      "NOT_FOUND",
      SERVICE_NOT_FOUND,
    );

    const listed = (await (await harness.caller(keyA)).shares.list()).find((share) => share.id === created.id);
    expect(listed).toMatchObject({ status: "active", useCount: 1, codeHint: created.code.slice(0, 4) });
    expect(listed?.joiners).toEqual([expect.objectContaining({ agentLabel: "laptop", useCount: 1 })]);
    expect(await (await harness.caller(laptopB.token)).shares.joined()).toContainEqual(
      expect.objectContaining({ shareId: created.id, from: "acme", status: "active" }),
    );
  });

  it.skipIf(skip)("gives one answer for a wrong, own-workspace, revoked or expired code", async () => {
    const asA = await harness.caller(serverA.token);
    const own = await asA.shares.create({ name: "own", services: ["redis"] });
    await expectAppError(asA.shares.join({ code: own.code }), "NOT_FOUND", SHARE_CODE_NOT_VALID);
    await expectAppError(
      (await harness.caller(serverC.token)).shares.join({ code: "2222-2222-2222" }),
      "NOT_FOUND",
      SHARE_CODE_NOT_VALID,
    );
    await expectAppError(
      (await harness.caller(serverC.token)).shares.join({ code: "not a code" }),
      "NOT_FOUND",
      SHARE_CODE_NOT_VALID,
    );
    const revoked = await asA.shares.create({ name: "gone", services: ["redis"] });
    await asA.shares.revoke({ code: revoked.code });
    await expectAppError(
      (await harness.caller(serverC.token)).shares.join({ code: revoked.code }),
      "NOT_FOUND",
      SHARE_CODE_NOT_VALID,
    );
    const short = await asA.shares.create({ name: "brief", services: ["redis"], expiresInSeconds: 60 });
    harness.setNow(new Date(Date.now() + 61_000));
    try {
      await expectAppError(
        (await harness.caller(serverC.token)).shares.join({ code: short.code }),
        "NOT_FOUND",
        SHARE_CODE_NOT_VALID,
      );
    } finally {
      harness.setNow(undefined);
    }
    // Only agents join: an API key holds no grants.
    await expectAppError((await harness.caller(keyC)).shares.join({ code: short.code }), "FORBIDDEN", /needs an agent token/);
  });

  it.skipIf(skip)("refuses streams at once after revocation and tells the relay", async () => {
    const asA = await harness.caller(serverA.token);
    const created = await asA.shares.create({ name: "to-revoke", services: ["redis"] });
    await (await harness.caller(serverC.token)).shares.join({ code: created.code });
    expect((await open(serverC, "redis")).share?.id).toBe(created.id);

    // Another workspace cannot revoke it, by code or by id, nor see it.
    const asB = await harness.caller(keyB);
    await expectAppError(asB.shares.revoke({ code: created.code }), "NOT_FOUND", SHARE_NOT_FOUND);
    await expectAppError(asB.shares.revoke({ id: created.id }), "NOT_FOUND", SHARE_NOT_FOUND);
    expect((await asB.shares.list()).map((share) => share.id)).not.toContain(created.id);
    expect((await open(serverC, "redis")).share?.id).toBe(created.id);

    revocations.length = 0;
    const revoked = await asA.shares.revoke({ id: created.id });
    expect(revoked.name).toBe("to-revoke");
    expect(revocations).toEqual([{ kind: "share", shareId: created.id, workspaceId: serverA.workspaceId }]);
    await expectAppError(open(serverC, "redis"), "NOT_FOUND", SERVICE_NOT_FOUND);
    // Revoking again is harmless and keeps the first time.
    expect((await asA.shares.revoke({ code: created.code })).revokedAt).toBe(revoked.revokedAt);
    expect((await asA.shares.list()).find((share) => share.id === created.id)?.status).toBe("revoked");
    expect(
      (await (await harness.caller(serverC.token)).shares.joined()).find((share) => share.shareId === created.id)?.status,
    ).toBe("revoked");
  });

  it.skipIf(skip)("stops granting when the share expires", async () => {
    const created = await (await harness.caller(serverA.token)).shares.create({
      name: "expiring",
      services: ["redis"],
      expiresInSeconds: 120,
    });
    await (await harness.caller(serverC.token)).shares.join({ code: created.code });
    expect((await open(serverC, "redis")).share?.expiresAt.toISOString()).toBe(created.expiresAt);
    harness.setNow(new Date(Date.parse(created.expiresAt) + 1_000));
    try {
      await expectAppError(open(serverC, "redis"), "NOT_FOUND", SERVICE_NOT_FOUND);
      expect((await (await harness.caller(keyA)).shares.list()).find((share) => share.id === created.id)?.status).toBe("expired");
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("prefers the joiner's own service, and --from picks the share", async () => {
    const collide = await agent(keyB, laptopB.workspaceId, "b-server");
    await (await harness.caller(collide.token)).services.expose({ name: "prod-db", targetHost: "127.0.0.1", targetPort: 15432 });
    try {
      const ownRoute = await open(laptopB, "prod-db");
      expect(ownRoute).toMatchObject({ agentId: collide.agentId, workspaceId: laptopB.workspaceId });
      expect(ownRoute.share).toBeUndefined();
      const viaShare = await open(laptopB, "prod-db", "acme");
      expect(viaShare).toMatchObject({ agentId: serverA.agentId, workspaceId: serverA.workspaceId });
      // The share's name works as --from too; anything else is not found.
      expect((await open(laptopB, "prod-db", "acme-contractor")).agentId).toBe(serverA.agentId);
      await expectAppError(open(laptopB, "prod-db", "contractor"), "NOT_FOUND", SERVICE_NOT_FOUND);
    } finally {
      await (await harness.caller(collide.token)).services.unexpose({ name: "prod-db" });
    }
  });

  it.skipIf(skip)("asks for --from when two workspaces share the same name", async () => {
    const d = await harness.createTestWorkspace("Dee Corp");
    const serverD = await agent(d.apiKey, d.workspaceId, "d-server");
    await (await harness.caller(serverD.token)).services.expose({ name: "prod-db", targetHost: "127.0.0.1", targetPort: 5433 });
    const fromD = await (await harness.caller(serverD.token)).shares.create({ name: "dee", services: ["prod-db"] });
    const fromA = await (await harness.caller(serverA.token)).shares.create({ name: "for-c", services: ["prod-db"] });
    await (await harness.caller(serverC.token)).shares.join({ code: fromD.code });
    await (await harness.caller(serverC.token)).shares.join({ code: fromA.code });
    await expectAppError(
      open(serverC, "prod-db"),
      "CONFLICT",
      /shared with this agent by several workspaces \(acme, dee-corp\): choose one with --from/,
    );
    expect((await open(serverC, "prod-db", "dee-corp")).agentId).toBe(serverD.agentId);
    expect((await open(serverC, "prod-db", "acme")).agentId).toBe(serverA.agentId);
  });

  it.skipIf(skip)("limits new streams per minute through a rate-limited share", async () => {
    const created = await (await harness.caller(serverA.token)).shares.create({
      name: "limited",
      services: ["redis"],
      rateLimitPerMinute: 2,
    });
    const joiner = await agent(keyC, serverC.workspaceId, "limited-joiner");
    await (await harness.caller(joiner.token)).shares.join({ code: created.code });
    const start = Date.now();
    harness.setNow(new Date(start));
    try {
      await open(joiner, "redis");
      await open(joiner, "redis");
      await expectAppError(open(joiner, "redis"), "RATE_LIMITED", /allows 2 new connections per minute/);
      harness.setNow(new Date(start + 61_000));
      expect((await open(joiner, "redis")).share?.id).toBe(created.id);
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("limits join attempts per address, right codes and wrong ones alike", async () => {
    const principal = await principalOf(serverC);
    const ip = "192.0.2.99";
    for (let i = 0; i < SHARE_JOINS_PER_WINDOW; i++) {
      await expectAppError(
        joinShare(harness.deps, principal, { code: `2222-2222-${2222 + i}` }, ip),
        "NOT_FOUND",
        SHARE_CODE_NOT_VALID,
      );
    }
    const good = await (await harness.caller(serverA.token)).shares.create({ name: "after-limit", services: ["redis"] });
    await expectAppError(
      joinShare(harness.deps, principal, { code: good.code }, ip),
      "RATE_LIMITED",
      /Too many share codes tried/,
    );
    // Another address is unaffected.
    expect((await joinShare(harness.deps, principal, { code: good.code }, "192.0.2.100")).shareName).toBe("after-limit");
  });

  it.skipIf(skip)("records creation, joins, accesses and revocation in the audit logs of both sides", async () => {
    const created = await (await harness.caller(serverA.token)).shares.create({ name: "audited", services: ["redis"] });
    const joiner = await agent(keyC, serverC.workspaceId, "audited-joiner");
    await (await harness.caller(joiner.token)).shares.join({ code: created.code });
    await open(joiner, "redis");
    await (await harness.caller(keyA)).shares.revoke({ id: created.id });
    const eventsOf = async (workspaceId: string) =>
      (await harness.queryAsOwner(
        `SELECT action, actor_type, actor_id::text AS actor_id, target, ip, data->>'shareId' AS share_id
           FROM audit_events WHERE workspace_id = '${workspaceId}' AND type = 'share' AND data->>'shareId' = '${created.id}'
          ORDER BY occurred_at, action`,
      )) as { action: string; actor_type: string; actor_id: string; target: string; ip: string | null }[];
    const inA = await eventsOf(serverA.workspaceId);
    expect(inA.map((event) => event.action).sort()).toEqual(["access", "create", "join", "revoke"]);
    expect(inA.find((event) => event.action === "create")).toMatchObject({ actor_type: "agent", actor_id: serverA.agentId });
    expect(inA.find((event) => event.action === "access")).toMatchObject({
      actor_type: "agent",
      actor_id: joiner.agentId,
      target: "redis",
      ip: "203.0.113.7",
    });
    expect(inA.find((event) => event.action === "revoke")).toMatchObject({ actor_type: "api_key" });
    expect((await eventsOf(serverC.workspaceId)).map((event) => event.action)).toEqual(["join"]);
  });
});
