import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { sha256Hex } from "@private-connect/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_NOT_FOUND } from "../errors.js";
import type { Revocation } from "../events/revocations.js";
import { LINK_NOT_FOUND, PUBLIC_LINK_EXPIRED, PUBLIC_LINK_NOT_FOUND } from "../services/links/link-messages.js";
import { extractLinkSlug } from "../services/links/link-slugs.js";
import { recordLinkAccess } from "../services/links/record-link-access.js";
import { resolveLinkForRequest } from "../services/links/resolve-link-for-request.js";
import { SECRET_HASH_KEY_MISMATCH } from "../services/shares/keyed-hash.js";
import { rekeyLegacyHashes } from "../services/shares/rekey-legacy-hashes.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";

/** What the hub stores: HMAC-SHA-256 under a key derived from ENCRYPTION_KEY (HKDF-SHA-256). */
function hmacHex(encryptionKey: Uint8Array, text: string): string {
  const key = hkdfSync("sha256", encryptionKey, new Uint8Array(0), "private-connect share codes and link slugs v1", 32);
  return createHmac("sha256", Buffer.from(key)).update(text, "utf8").digest("hex");
}

describe.each(testEngines)("links router on $name", ({ name, skip }) => {
  let harness: Harness;
  let workspaceA: { workspaceId: string; apiKey: string };
  let workspaceB: { workspaceId: string; apiKey: string };
  let serverA: { agentId: string; token: string };
  let serverB: { agentId: string; token: string };
  const revocations: Revocation[] = [];

  function slugOf(url: string): string {
    const slug = extractLinkSlug(url);
    if (slug === undefined) throw new Error(`no slug in ${url}`);
    return slug;
  }

  function secretKey(): Uint8Array {
    const key = harness.deps.config.secretHashKey;
    if (key === undefined) throw new Error("the harness has no secretHashKey");
    return key;
  }

  async function auditEvents(workspaceId: string, action: string): Promise<Record<string, unknown>[]> {
    return harness.queryAsOwner(
      `SELECT action, actor_type, actor_id, target, ip, data FROM audit_events
        WHERE workspace_id = '${workspaceId}' AND type = 'link' AND action = '${action}' ORDER BY occurred_at, id`,
    );
  }

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    harness.deps.revocations.subscribe((revocation) => revocations.push(revocation));
    workspaceA = await harness.createTestWorkspace("Links A");
    workspaceB = await harness.createTestWorkspace("Links B");
    serverA = await harness.registerTestAgent(workspaceA.apiKey, "server-a");
    serverB = await harness.registerTestAgent(workspaceB.apiKey, "server-b");
    await (await harness.caller(serverA.token)).services.expose({ name: "api", targetHost: "127.0.0.1", targetPort: 8080 });
    await (await harness.caller(serverB.token)).services.expose({
      name: "secret-api",
      targetHost: "127.0.0.1",
      targetPort: 9090,
    });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("shows the URL once, stores only the slug's hash, and lists the hint and restrictions", async () => {
    const asAgent = await harness.caller(serverA.token);
    const created = await asAgent.links.create({
      service: "api",
      expiresInSeconds: 30 * 86_400,
      methods: ["get", "HEAD", "GET"],
      paths: ["/api/v1/", "/health", "//api//v1"],
      rateLimitPerMinute: 100,
    });
    expect(created.url).toMatch(/^https:\/\/app\.private-connect\.test\/l\/[a-z2-7]{26}\/$/);
    const slug = slugOf(created.url);
    expect(created).toEqual({
      id: expect.any(String),
      service: "api",
      url: created.url,
      slugHint: slug.slice(0, 6),
      methods: ["GET", "HEAD"],
      paths: ["/api/v1", "/health"],
      rateLimitPerMinute: 100,
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBe(30 * 86_400 * 1000);

    const rows = await harness.queryAsOwner(`SELECT * FROM public_links WHERE id = '${created.id}'`);
    expect(rows).toHaveLength(1);
    // A database copy cannot test guesses: not the bare SHA-256 of before, not an HMAC under any
    // key but the hub's; and the hint leaves 20 of the 26 base32 symbols, 100 bits, unknown.
    expect(rows[0]?.slug_hash).not.toBe(sha256Hex(slug));
    expect(rows[0]?.slug_hash).not.toBe(hmacHex(randomBytes(32), sha256Hex(slug)));
    expect(rows[0]?.slug_hash).toBe(hmacHex(secretKey(), sha256Hex(slug)));
    expect((slug.length - String(rows[0]?.slug_hint).length) * Math.log2(32)).toBeGreaterThanOrEqual(60);
    expect(JSON.stringify(rows, (_key, value) => (typeof value === "bigint" ? String(value) : value))).not.toContain(slug);

    const listed = await (await harness.caller(workspaceA.apiKey)).links.list();
    const view = listed.find((link) => link.id === created.id);
    expect(view).toEqual({
      id: created.id,
      service: "api",
      slugHint: created.slugHint,
      methods: ["GET", "HEAD"],
      paths: ["/api/v1", "/health"],
      rateLimitPerMinute: 100,
      createdAt: created.createdAt,
      expiresAt: created.expiresAt,
      revokedAt: null,
      status: "active",
      accessCount: 0,
      lastAccessAt: null,
    });
    expect(JSON.stringify(listed)).not.toContain(slug);

    const [event] = (await auditEvents(workspaceA.workspaceId, "create")).filter(
      (row) => (row.data as { linkId?: string }).linkId === created.id,
    );
    expect(event).toMatchObject({ actor_type: "agent", actor_id: serverA.agentId, target: "api" });
    expect(JSON.stringify(event)).not.toContain(slug);
  });

  it.skipIf(skip)("builds host-form URLs on the link domain, with the public URL's scheme and port", async () => {
    const config = harness.deps.config;
    const previous = { publicUrl: config.publicUrl, linkDomain: config.linkDomain };
    try {
      config.linkDomain = "links.example.test";
      const secure = await (await harness.caller(workspaceA.apiKey)).links.create({ service: "api" });
      expect(secure.url).toMatch(/^https:\/\/[a-z2-7]{26}\.links\.example\.test\/$/);
      config.publicUrl = "http://127.0.0.1:3001";
      config.linkDomain = "localhost";
      const local = await (await harness.caller(workspaceA.apiKey)).links.create({ service: "api" });
      expect(local.url).toMatch(/^http:\/\/[a-z2-7]{26}\.localhost:3001\/$/);
      // Default expiry: 7 days.
      expect(Date.parse(local.expiresAt) - Date.parse(local.createdAt)).toBe(7 * 86_400 * 1000);
    } finally {
      config.publicUrl = previous.publicUrl;
      config.linkDomain = previous.linkDomain;
    }
  });

  it.skipIf(skip)("refuses bad restrictions and lifetimes with a sentence saying what to pass", async () => {
    const asKey = await harness.caller(workspaceA.apiKey);
    const refusals: [Parameters<typeof asKey.links.create>[0], RegExp][] = [
      [{ service: "api", methods: ["GE T"] }, /HTTP method names such as GET,HEAD: "GE T"/],
      [{ service: "api", paths: ["api/v1"] }, /start with \//],
      [{ service: "api", paths: ["/api/v1/../admin"] }, /cannot contain dot segments/],
      [{ service: "api", paths: ["/api/v1/%2e%2E/admin"] }, /cannot contain dot segments/],
      [{ service: "api", paths: ["/api%2fv1"] }, /encoded slashes/],
      [{ service: "api", paths: ["/api%5cv1"] }, /encoded slashes/],
      [{ service: "api", paths: ["/api?x=1"] }, /without \? or #/],
      [{ service: "api", paths: ["/api%zz"] }, /not followed by two hex digits/],
      [{ service: "api", expiresInSeconds: 59 }, /at least 1 minute/],
      [{ service: "api", expiresInSeconds: 366 * 86_400 }, /at most 365 days/],
      [{ service: "api", rateLimitPerMinute: 0 }, /at least 1/],
    ];
    for (const [input, message] of refusals) await expectAppErrorOrZod(asKey.links.create(input), message);
  });

  it.skipIf(skip)("answers Service not found for another workspace's service and for one that exists nowhere", async () => {
    const asA = await harness.caller(workspaceA.apiKey);
    await expectAppError(asA.links.create({ service: "secret-api" }), "NOT_FOUND", SERVICE_NOT_FOUND);
    await expectAppError(asA.links.create({ service: "nowhere" }), "NOT_FOUND", SERVICE_NOT_FOUND);
  });

  it.skipIf(skip)("keeps another workspace's links invisible and unrevocable", async () => {
    const created = await (await harness.caller(workspaceA.apiKey)).links.create({ service: "api" });
    const slug = slugOf(created.url);
    const asB = await harness.caller(workspaceB.apiKey);
    const asBAgent = await harness.caller(serverB.token);
    expect((await asB.links.list()).map((link) => link.id)).not.toContain(created.id);
    await expectAppError(asB.links.revoke({ id: created.id }), "NOT_FOUND", LINK_NOT_FOUND);
    await expectAppError(asBAgent.links.revoke({ slug }), "NOT_FOUND", LINK_NOT_FOUND);
    await expectAppError(asB.links.revoke({ slug: created.url }), "NOT_FOUND", LINK_NOT_FOUND);
    expect(revocations.filter((revocation) => revocation.kind === "link" && revocation.linkId === created.id)).toEqual([]);
    // Still live for its visitors.
    const resolved = await resolveLinkForRequest(harness.deps, slug);
    expect(resolved.kind).toBe("found");
  });

  it.skipIf(skip)("revokes at once by slug, URL or id: published, refused with 404, audited once", async () => {
    const asA = await harness.caller(workspaceA.apiKey);
    for (const by of ["slug", "url", "id"] as const) {
      const created = await asA.links.create({ service: "api" });
      const slug = slugOf(created.url);
      const input = by === "id" ? { id: created.id } : { slug: by === "url" ? `${created.url}some/page?q=1` : slug };
      const revoked = await asA.links.revoke(input);
      expect(revoked).toEqual({ id: created.id, service: "api", slugHint: created.slugHint, revokedAt: expect.any(String) });
      expect(revocations).toContainEqual({ kind: "link", linkId: created.id, workspaceId: workspaceA.workspaceId });
      expect(await resolveLinkForRequest(harness.deps, slug)).toEqual({
        kind: "refused",
        status: 404,
        message: PUBLIC_LINK_NOT_FOUND,
        link: { id: created.id, workspaceId: workspaceA.workspaceId, serviceName: "api", slugHint: created.slugHint },
      });
      // Again: the first revocation stands, and the log has one event.
      expect(await asA.links.revoke({ id: created.id })).toEqual(revoked);
      const events = (await auditEvents(workspaceA.workspaceId, "revoke")).filter(
        (row) => (row.data as { linkId?: string }).linkId === created.id,
      );
      expect(events).toHaveLength(1);
      const view = (await asA.links.list()).find((link) => link.id === created.id);
      expect(view?.status).toBe("revoked");
    }
    await expectAppError(asA.links.revoke({ slug: "not-a-slug" }), "NOT_FOUND", LINK_NOT_FOUND);
  });

  it.skipIf(skip)("expires on the injected clock: found before, 410 after, listed as expired", async () => {
    const start = new Date("2031-03-01T12:00:00Z");
    harness.setNow(start);
    try {
      const asA = await harness.caller(workspaceA.apiKey);
      const created = await asA.links.create({ service: "api", expiresInSeconds: 60 });
      const slug = slugOf(created.url);
      expect(created.expiresAt).toBe("2031-03-01T12:01:00.000Z");
      harness.setNow(new Date(start.getTime() + 59_000));
      const live = await resolveLinkForRequest(harness.deps, slug);
      expect(live.kind).toBe("found");
      harness.setNow(new Date(start.getTime() + 60_000));
      expect(await resolveLinkForRequest(harness.deps, slug)).toMatchObject({
        kind: "refused",
        status: 410,
        message: PUBLIC_LINK_EXPIRED,
      });
      expect((await asA.links.list()).find((link) => link.id === created.id)?.status).toBe("expired");
    } finally {
      harness.setNow(undefined);
    }
  });

  it.skipIf(skip)("resolves a slug to the exposing agent, and to no route once the service is unexposed", async () => {
    const asAgent = await harness.caller(serverA.token);
    await asAgent.services.expose({ name: "short-lived", targetHost: "127.0.0.1", targetPort: 7070 });
    const created = await asAgent.links.create({ service: "short-lived", paths: ["/api"], methods: ["GET"] });
    const slug = slugOf(created.url);
    expect(await resolveLinkForRequest(harness.deps, slug)).toEqual({
      kind: "found",
      link: {
        id: created.id,
        workspaceId: workspaceA.workspaceId,
        serviceName: "short-lived",
        slugHint: created.slugHint,
        methods: ["GET"],
        paths: ["/api"],
        rateLimitPerMinute: null,
        expiresAt: new Date(created.expiresAt),
        route: { agentId: serverA.agentId, serviceName: "short-lived" },
      },
    });
    await asAgent.services.unexpose({ name: "short-lived" });
    const unrouted = await resolveLinkForRequest(harness.deps, slug);
    expect(unrouted.kind === "found" ? unrouted.link.route : "refused").toBeUndefined();
    // Unknown slugs, well-formed or not, are the same 404.
    for (const unknown of ["a".repeat(26), "short", `${slug}x`, slug.toUpperCase()]) {
      expect(await resolveLinkForRequest(harness.deps, unknown)).toEqual({
        kind: "refused",
        status: 404,
        message: PUBLIC_LINK_NOT_FOUND,
      });
    }
  });

  it.skipIf(skip)("serves links from before keyed hashes once rewritten, and names a wrong ENCRYPTION_KEY", async () => {
    // A link as the previous version stored it: the bare SHA-256 of its slug.
    const legacySlug = `${"k".repeat(20)}legacy`;
    const inserted = await harness.queryAsOwner(
      `INSERT INTO public_links (workspace_id, service_name, slug_hash, slug_hash_keyed, slug_hint, created_by_type, created_by_id, expires_at)
       VALUES ('${workspaceA.workspaceId}', 'api', '${sha256Hex(legacySlug)}', false, 'kkkkkk', 'agent', '${serverA.agentId}',
               now() + interval '1 day') RETURNING id`,
    );
    const linkId = String(inserted[0]?.id);
    expect(await resolveLinkForRequest(harness.deps, legacySlug)).toMatchObject({ kind: "refused", status: 404 });
    expect(await rekeyLegacyHashes(harness.deps)).toMatchObject({ isKeyMismatch: false });
    const rows = await harness.queryAsOwner(`SELECT slug_hash FROM public_links WHERE id = '${linkId}'`);
    expect(rows[0]?.slug_hash).toBe(hmacHex(secretKey(), sha256Hex(legacySlug)));
    expect(await resolveLinkForRequest(harness.deps, legacySlug)).toMatchObject({ kind: "found", link: { id: linkId } });

    // Another hub on the same database with another key: an error for its operator, not a 404.
    const otherHub = { ...harness.deps, config: { ...harness.deps.config, secretHashKey: randomBytes(32) } };
    await expectAppError(resolveLinkForRequest(otherHub, legacySlug), "UNAVAILABLE", SECRET_HASH_KEY_MISMATCH);
  });

  it.skipIf(skip)("records accesses with a masked address, and counts only the served ones", async () => {
    const asA = await harness.caller(workspaceA.apiKey);
    const created = await asA.links.create({ service: "api" });
    const base = {
      linkId: created.id,
      workspaceId: workspaceA.workspaceId,
      serviceName: "api",
      slugHint: created.slugHint,
      method: "GET",
      path: "/api/v1/items",
      durationMs: 12,
    };
    const servedAt = new Date("2030-01-02T03:04:05Z");
    await recordLinkAccess(harness.deps, { ...base, ip: "203.0.113.77", status: 200, isServed: true, at: servedAt });
    await recordLinkAccess(harness.deps, {
      ...base,
      ip: "2001:db8:1:2::5",
      status: 403,
      isServed: false,
      at: new Date(servedAt.getTime() + 1_000),
    });
    const view = (await asA.links.list()).find((link) => link.id === created.id);
    expect(view).toMatchObject({ accessCount: 1, lastAccessAt: servedAt.toISOString() });
    const events = (await auditEvents(workspaceA.workspaceId, "access")).filter(
      (row) => (row.data as { linkId?: string }).linkId === created.id,
    );
    expect(events.map((event) => event.ip)).toEqual(["203.0.x.x", "2001:db8:x:x:x:x:x:x"]);
    expect(events[0]).toMatchObject({
      actor_type: "system",
      target: "api",
      data: { linkId: created.id, method: "GET", path: "/api/v1/items", status: 200, durationMs: 12 },
    });
    expect(JSON.stringify(events)).not.toContain("203.0.113.77");
  });

  it.skipIf(skip)("lets a signed-in member create links in their workspace", async () => {
    const user = await harness.signIn(`links-member-${Date.now()}@example.com`);
    const workspaceId = user.workspaces[0]?.id ?? "";
    const asUser = await user.in(workspaceId);
    await expectAppError(asUser.links.create({ service: "api" }), "NOT_FOUND", SERVICE_NOT_FOUND);
    expect(await asUser.links.list()).toEqual([]);
  });
});

/** Input validation fails as a BAD_REQUEST whose message is the schema's sentence. */
async function expectAppErrorOrZod(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, `expected a refusal matching ${message}`).toBeInstanceOf(Error);
  expect((error as { code?: string }).code).toBe("BAD_REQUEST");
  expect((error as Error).message).toMatch(message);
}
