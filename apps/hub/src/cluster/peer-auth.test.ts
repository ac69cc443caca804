import { describe, expect, it } from "vitest";
import { PEER_CLOCK_TOLERANCE_MS, PEER_NONCE_MEMORY_MS, SeenNonces, signPeerRequest, verifyPeerRequest } from "./peer-auth.js";

const secret = "a".repeat(64);
const now = 1_800_000_000_000;

function verify(header: string | undefined, overrides: Partial<Parameters<typeof verifyPeerRequest>[1]> = {}) {
  return verifyPeerRequest(header, {
    selfHubId: "hub-b",
    clusterSecret: secret,
    now,
    seenNonces: new SeenNonces(),
    ...overrides,
  });
}

function header(overrides: Partial<Parameters<typeof signPeerRequest>[0]> = {}): string {
  return signPeerRequest({ fromHubId: "hub-a", toHubId: "hub-b", clusterSecret: secret, now, ...overrides });
}

describe("peer authentication", () => {
  it("accepts a header signed with the cluster secret for this hub, naming the dialing hub", () => {
    expect(verify(header())).toEqual({ ok: true, fromHubId: "hub-a" });
  });

  it("gives every signature a fresh nonce", () => {
    expect(header()).not.toBe(header());
  });

  it("refuses a header signed with another secret, saying which variable to align", () => {
    const result = verify(header({ clusterSecret: "b".repeat(64) }));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining("CLUSTER_SECRET") });
  });

  it("refuses a header meant for another hub", () => {
    const result = verify(header({ toHubId: "hub-c" }));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining("not hub-c") });
  });

  it("refuses a header whose target was altered (the signature covers it)", () => {
    const altered = header({ toHubId: "hub-c" }).replace(":hub-c:", ":hub-b:");
    expect(verify(altered)).toEqual({ ok: false, reason: expect.stringContaining("CLUSTER_SECRET") });
  });

  it("refuses a dial from a hub with this hub's own id", () => {
    const result = verify(header({ fromHubId: "hub-b" }));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining("HUB_ID") });
  });

  it("accepts clocks within the tolerance and refuses older or newer timestamps", () => {
    expect(verify(header({ now: now - PEER_CLOCK_TOLERANCE_MS })).ok).toBe(true);
    expect(verify(header({ now: now + PEER_CLOCK_TOLERANCE_MS })).ok).toBe(true);
    expect(verify(header({ now: now - PEER_CLOCK_TOLERANCE_MS - 1 }))).toEqual({
      ok: false,
      reason: expect.stringContaining("clock"),
    });
    expect(verify(header({ now: now + PEER_CLOCK_TOLERANCE_MS + 1 })).ok).toBe(false);
  });

  it("refuses a replayed header while it could still be presented, and forgets the nonce after", () => {
    const seenNonces = new SeenNonces();
    const signed = header();
    expect(verify(signed, { seenNonces }).ok).toBe(true);
    expect(verify(signed, { seenNonces, now: now + 1000 })).toEqual({ ok: false, reason: expect.stringContaining("replay") });
    // Past the memory the timestamp alone refuses it; the nonce's memory is free again.
    expect(verify(signed, { seenNonces, now: now + PEER_NONCE_MEMORY_MS + 1 }).ok).toBe(false);
    const later = now + PEER_NONCE_MEMORY_MS + 1;
    expect(verify(header({ now: later }), { seenNonces, now: later }).ok).toBe(true);
    expect(seenNonces.size).toBe(1);
  });

  it("keeps bounded memory: when full it refuses rather than forget a nonce early", () => {
    const seenNonces = new SeenNonces(2);
    expect(verify(header(), { seenNonces }).ok).toBe(true);
    expect(verify(header(), { seenNonces }).ok).toBe(true);
    expect(verify(header(), { seenNonces })).toEqual({ ok: false, reason: expect.stringContaining("Too many") });
    expect(seenNonces.size).toBe(2);
    expect(verify(header({ now: now + PEER_NONCE_MEMORY_MS }), { seenNonces, now: now + PEER_NONCE_MEMORY_MS }).ok).toBe(true);
    expect(seenNonces.size).toBe(1);
  });

  it("does not record the nonce of a header with a bad signature", () => {
    const seenNonces = new SeenNonces();
    verify(header({ clusterSecret: "b".repeat(64) }), { seenNonces });
    expect(seenNonces.size).toBe(0);
  });

  it.each([
    ["no header", undefined],
    ["an empty header", ""],
    ["a bearer token", "Bearer abc"],
    ["another version", header().replace(" v1:", " v2:")],
    ["a truncated signature", header().slice(0, -2)],
    ["a non-hex nonce", header().replace(/:([0-9a-f]{32}):/, `:${"z".repeat(32)}:`)],
    ["trailing text", `${header()} extra`],
    ["a separator in a hub id", "PC-Cluster v1:a:b:c:hub-b:1:00000000000000000000000000000000:sig"],
  ])("refuses %s", (_what, value) => {
    const result = verify(value);
    expect(result.ok).toBe(false);
  });

  it("will not sign for a hub id the header could not carry", () => {
    expect(() => header({ fromHubId: "hub:a" })).toThrow(RangeError);
  });
});
