// The control plane of end-to-end encryption between agents (issue 19): agents register their
// static public key, report what they saw of their peers' keys, services and workspaces carry a
// policy, and what reaching agents and the hub read (services.resolve, the stream open's route,
// the dashboard's views) says which policy holds and which key to expect.
import { createHash, generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER_REQUIRED_FOR_SETTINGS, SERVICE_NOT_FOUND, USER_SESSION_REQUIRED, WORKSPACE_NOT_FOUND } from "../errors.js";
import { PEER_KEY_REPORTS_PER_MINUTE } from "../services/agents/report-peer-key.js";
import { PUBLIC_LINK_E2E_REQUIRED } from "../services/links/link-messages.js";
import { resolveLinkForRequest } from "../services/links/resolve-link-for-request.js";
import { authorizeStreamOpen } from "../services/services/authorize-stream-open.js";
import { type AgentTeam, createAgentTeam } from "../test-support/agent-team.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";

/** A fresh X25519 public key in the agents' text form, and its expected audit fingerprint. */
function makeE2eKey(): { publicKey: string; fingerprint: string } {
  const { publicKey } = generateKeyPairSync("x25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
  expect(raw).toHaveLength(32);
  return {
    publicKey: `pcpk_${raw.toString("base64url")}`,
    fingerprint: createHash("sha256").update(raw).digest("hex").slice(0, 16),
  };
}

/** A refusal of the input itself (zod): BAD_REQUEST with the schema's sentence. */
async function expectInputRefused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(message) });
}

describe.each(testEngines)("end-to-end encryption control plane on $name", ({ name, skip }) => {
  let harness: Harness;
  let team: AgentTeam;
  let server: { agentId: string; token: string };
  let laptop: { agentId: string; token: string };
  /** Another workspace's agent, joining A's share. */
  let contractor: { agentId: string; token: string };
  let contractorKey: string;
  let outsider: { agentId: string; token: string };

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    team = await createAgentTeam(harness, "e2e");
    server = await team.register("db-server");
    laptop = await team.register("laptop");
    const b = await harness.createTestWorkspace("E2E Contractor");
    contractorKey = b.apiKey;
    contractor = await harness.registerTestAgent(b.apiKey, "contractor-laptop");
    const c = await harness.createTestWorkspace("E2E Outsider");
    outsider = await harness.registerTestAgent(c.apiKey, "outsider");
  });

  afterAll(async () => {
    await harness?.close();
  });

  async function auditOf(bearer: string, filter: { type: string; action?: string }) {
    return (await (await harness.caller(bearer)).audit.list({ ...filter, limit: 1000 })).events;
  }

  describe("agents.setE2eKey", () => {
    it.skipIf(skip)(
      "stores the key, is idempotent for the same key, and audits a replacement with both fingerprints",
      async () => {
        const asServer = await harness.caller(server.token);
        const first = makeE2eKey();
        expect(await asServer.agents.setE2eKey({ publicKey: first.publicKey })).toEqual({
          publicKey: first.publicKey,
          fingerprint: first.fingerprint,
          isReplaced: false,
        });
        // Every connect up sends it again: nothing changes, nothing is recorded.
        expect((await asServer.agents.setE2eKey({ publicKey: first.publicKey })).isReplaced).toBe(false);
        // connect status can tell whether the hub has the key this machine holds.
        expect((await asServer.agents.me()).e2ePublicKey).toBe(first.publicKey);
        expect((await (await harness.caller(laptop.token)).agents.me()).e2ePublicKey).toBeNull();
        expect(await auditOf(team.apiKey, { type: "agent", action: "e2e_key_changed" })).toEqual([]);

        await asServer.services.expose({ name: "keyed-db", targetHost: "127.0.0.1", targetPort: 5432 });
        const asLaptop = await harness.caller(laptop.token);
        expect((await asLaptop.services.resolve({ name: "keyed-db" })).e2e.publicKey).toBe(first.publicKey);

        const second = makeE2eKey();
        expect(await asServer.agents.setE2eKey({ publicKey: second.publicKey })).toEqual({
          publicKey: second.publicKey,
          fingerprint: second.fingerprint,
          isReplaced: true,
        });
        expect((await asLaptop.services.resolve({ name: "keyed-db" })).e2e.publicKey).toBe(second.publicKey);
        const events = await auditOf(team.apiKey, { type: "agent", action: "e2e_key_changed" });
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          actor: { type: "agent", id: server.agentId },
          target: server.agentId,
          data: {
            agentId: server.agentId,
            agentLabel: "db-server",
            fingerprint: second.fingerprint,
            previousFingerprint: first.fingerprint,
          },
        });
        // Fingerprints only: neither key's text is in the event.
        expect(JSON.stringify(events)).not.toContain(first.publicKey.slice(5));
        expect(JSON.stringify(events)).not.toContain(second.publicKey.slice(5));
      },
    );

    it.skipIf(skip)("is for agents only: an API key, an owner and a member are refused", async () => {
      const { publicKey } = makeE2eKey();
      await expectAppError(
        (await harness.caller(team.apiKey)).agents.setE2eKey({ publicKey }),
        "FORBIDDEN",
        /needs an agent token/,
      );
      await expectAppError(
        (await team.owner.in(team.workspaceId)).agents.setE2eKey({ publicKey }),
        "FORBIDDEN",
        /needs an agent token/,
      );
      await expectAppError(
        (await team.member.in(team.workspaceId)).agents.setE2eKey({ publicKey }),
        "FORBIDDEN",
        /needs an agent token/,
      );
    });

    it.skipIf(skip)("refuses anything but a well-formed public key, and never takes a private one", async () => {
      const asLaptop = await harness.caller(laptop.token);
      const { publicKey } = makeE2eKey();
      const body = publicKey.slice(5);
      const malformed = [
        "",
        body,
        `pcsk_${body}`, // the private form
        `PCPK_${body}`,
        `pcpk_${body.slice(0, 42)}`,
        `pcpk_${body}A`,
        `pcpk_${body.slice(0, 42)}=`,
        `pcpk_${body.slice(0, 42)}B`, // stray bits in the last character: a second text for one key
        `pcpk_${body.slice(0, 41)}+/`,
        `pcpk_${"A".repeat(10_000)}`,
      ];
      for (const candidate of malformed) {
        await expectInputRefused(
          asLaptop.agents.setE2eKey({ publicKey: candidate }),
          /publicKey must be an end-to-end public key/,
        );
      }
      // Strict: no room for a private key (or anything else) next to it.
      await expectInputRefused(
        asLaptop.agents.setE2eKey({ publicKey, privateKey: `pcsk_${body}` } as { publicKey: string }),
        /privateKey/,
      );
      const rows = await harness.queryAsOwner(`SELECT e2e_public_key FROM agents WHERE id = '${laptop.agentId}'`);
      expect(rows).toEqual([{ e2e_public_key: null }]);
    });

    it.skipIf(skip)("is held to the same shape by the database, whatever the application sends", async () => {
      await expect(
        harness.db.withWorkspace(team.workspaceId, (tx) =>
          tx.agent.update({
            where: { id: laptop.agentId },
            data: { e2ePublicKey: "pcsk_not-a-public-key" },
            select: { id: true },
          }),
        ),
      ).rejects.toThrow(/agents_e2e_public_key_check/);
    });

    it.skipIf(skip)("only ever sets the calling agent's own key: another workspace's agent changes nothing of A's", async () => {
      const asServer = await harness.caller(server.token);
      const { publicKey } = makeE2eKey();
      await asServer.agents.setE2eKey({ publicKey });
      const intruder = makeE2eKey();
      await (await harness.caller(outsider.token)).agents.setE2eKey({ publicKey: intruder.publicKey });
      expect((await (await harness.caller(laptop.token)).services.resolve({ name: "keyed-db" })).e2e.publicKey).toBe(publicKey);
      // Nor can it read A's key: A's service does not resolve for it.
      await expectAppError(
        (await harness.caller(outsider.token)).services.resolve({ name: "keyed-db" }),
        "NOT_FOUND",
        SERVICE_NOT_FOUND,
      );
    });
  });

  describe("agents.reportPeerKey", () => {
    it.skipIf(skip)(
      "records changed, trusted, verified and uncertified in the reporting agent's workspace, with fingerprints only",
      async () => {
        const pinned = makeE2eKey();
        const offered = makeE2eKey();
        const asContractor = await harness.caller(contractor.token);
        for (const event of ["changed", "trusted", "verified"] as const) {
          expect(
            await asContractor.agents.reportPeerKey({
              event,
              peerAgentId: server.agentId,
              service: "keyed-db",
              pinnedKey: pinned.publicKey,
              ...(event === "verified" ? {} : { offeredKey: offered.publicKey }),
            }),
          ).toEqual({ isRecorded: true });
        }
        // Refused for want of a workspace certificate: there may be no pin yet, only the key offered.
        expect(
          await asContractor.agents.reportPeerKey({
            event: "uncertified",
            peerAgentId: server.agentId,
            offeredKey: offered.publicKey,
          }),
        ).toEqual({ isRecorded: true });
        const events = await auditOf(contractorKey, { type: "e2e" });
        expect(events.map((event) => event.action).sort()).toEqual([
          "peer_key_changed",
          "peer_key_trusted",
          "peer_key_uncertified",
          "peer_key_verified",
        ]);
        expect(events.find((event) => event.action === "peer_key_uncertified")?.data).toMatchObject({
          pinnedFingerprint: null,
          offeredFingerprint: offered.fingerprint,
          service: null,
        });
        const changed = events.find((event) => event.action === "peer_key_changed");
        expect(changed).toMatchObject({
          type: "e2e",
          actor: { type: "agent", id: contractor.agentId },
          target: server.agentId,
          data: {
            agentId: contractor.agentId,
            agentLabel: "contractor-laptop",
            peerAgentId: server.agentId,
            service: "keyed-db",
            pinnedFingerprint: pinned.fingerprint,
            offeredFingerprint: offered.fingerprint,
          },
        });
        expect(events.find((event) => event.action === "peer_key_verified")?.data).toMatchObject({ offeredFingerprint: null });
        expect(JSON.stringify(events)).not.toContain(pinned.publicKey.slice(5));
        // The peer's workspace hears nothing of it: reports stay with the reporter.
        expect(await auditOf(team.apiKey, { type: "e2e" })).toEqual([]);
      },
    );

    it.skipIf(skip)("refuses API keys and people: only an agent saw a peer's key", async () => {
      const input = { event: "verified" as const, peerAgentId: server.agentId, pinnedKey: makeE2eKey().publicKey };
      await expectAppError((await harness.caller(team.apiKey)).agents.reportPeerKey(input), "FORBIDDEN", /needs an agent token/);
      await expectAppError(
        (await team.owner.in(team.workspaceId)).agents.reportPeerKey(input),
        "FORBIDDEN",
        /needs an agent token/,
      );
    });

    it.skipIf(skip)(
      "validates strictly: malformed keys and ids, a changed event without the offered key, extra or huge fields",
      async () => {
        const asLaptop = await harness.caller(laptop.token);
        const valid = { event: "verified" as const, peerAgentId: server.agentId, pinnedKey: makeE2eKey().publicKey };
        await expectInputRefused(asLaptop.agents.reportPeerKey({ ...valid, pinnedKey: "pcpk_short" }), /pinnedKey must be/);
        await expectInputRefused(
          asLaptop.agents.reportPeerKey({ ...valid, offeredKey: `pcpk_${"x".repeat(100_000)}` }),
          /offeredKey must be/,
        );
        await expectInputRefused(asLaptop.agents.reportPeerKey({ ...valid, peerAgentId: "db-server" }), /peerAgentId must be/);
        await expectInputRefused(
          asLaptop.agents.reportPeerKey({ ...valid, event: "forgotten" as "verified" }),
          /event must be changed, trusted, verified or uncertified/,
        );
        await expectInputRefused(asLaptop.agents.reportPeerKey({ ...valid, event: "changed" }), /offeredKey is required/);
        await expectInputRefused(asLaptop.agents.reportPeerKey({ ...valid, event: "uncertified" }), /offeredKey is required/);
        const { pinnedKey: _pinned, ...unpinned } = valid;
        await expectInputRefused(asLaptop.agents.reportPeerKey(unpinned), /pinnedKey is required/);
        await expectInputRefused(asLaptop.agents.reportPeerKey({ ...valid, service: "x".repeat(5000) }), /Service name/);
        await expectInputRefused(asLaptop.agents.reportPeerKey({ ...valid, note: "y".repeat(100_000) } as typeof valid), /note/);
        expect(await auditOf(team.apiKey, { type: "e2e" })).toEqual([]);
      },
    );

    it.skipIf(skip)("cannot be forged through audit.reportAction: the e2e type is the hub's", async () => {
      await expectInputRefused(
        (await harness.caller(laptop.token)).audit.reportAction({ type: "e2e", action: "allow", target: server.agentId }),
        /type must not be one the hub records itself \(.*\be2e\b/,
      );
    });

    it.skipIf(skip)("bounds how much one agent can write to the audit log", async () => {
      const own = await harness.createTestWorkspace("E2E Flood");
      const looping = await harness.registerTestAgent(own.apiKey, "looping");
      const asLooping = await harness.caller(looping.token);
      const input = { event: "verified" as const, peerAgentId: server.agentId, pinnedKey: makeE2eKey().publicKey };
      // The clock stands still, so all of them fall in one minute however slow the machine is.
      harness.setNow(new Date());
      try {
        for (let index = 0; index < PEER_KEY_REPORTS_PER_MINUTE; index += 1) await asLooping.agents.reportPeerKey(input);
        await expectAppError(asLooping.agents.reportPeerKey(input), "RATE_LIMITED", /Too many peer key reports/);
      } finally {
        harness.setNow(undefined);
      }
      expect(await auditOf(own.apiKey, { type: "e2e" })).toHaveLength(PEER_KEY_REPORTS_PER_MINUTE);
    });
  });

  describe("service policies", () => {
    it.skipIf(skip)(
      "stores what expose sends (preferred when left out), shows it in list, get, resolve and the stream route",
      async () => {
        const asServer = await harness.caller(server.token);
        expect((await asServer.services.expose({ name: "plain-db", targetHost: "127.0.0.1", targetPort: 5433 })).e2ePolicy).toBe(
          "preferred",
        );
        const strict = await asServer.services.expose({
          name: "strict-db",
          targetHost: "127.0.0.1",
          targetPort: 5434,
          e2e: "required",
        });
        expect(strict.e2ePolicy).toBe("required");
        await asServer.services.expose({ name: "legacy-db", targetHost: "127.0.0.1", targetPort: 5435, e2e: "off" });

        const asKey = await harness.caller(team.apiKey);
        const policies = Object.fromEntries((await asKey.services.list()).map((service) => [service.name, service.e2ePolicy]));
        expect(policies).toMatchObject({ "plain-db": "preferred", "strict-db": "required", "legacy-db": "off" });
        expect((await asKey.services.get({ name: "strict-db" })).e2ePolicy).toBe("required");

        const laptopPrincipal = { kind: "agent" as const, agentId: laptop.agentId, workspaceId: team.workspaceId };
        const route = await authorizeStreamOpen(
          harness.deps,
          { ...laptopPrincipal, label: "laptop", clientType: "cli", tokenExpiresAt: new Date() },
          {
            service: "strict-db",
          },
        );
        expect(route).toMatchObject({ serviceName: "strict-db", agentId: server.agentId, e2ePolicy: "required" });
        expect(route.share).toBeUndefined();

        const resolved = await (await harness.caller(laptop.token)).services.resolve({ name: "strict-db" });
        expect(resolved).toEqual({
          name: "strict-db",
          agent: { id: server.agentId, label: "db-server", workspaceId: team.workspaceId },
          e2e: { policy: "required", publicKey: expect.stringMatching(/^pcpk_/) },
        });

        // A re-expose without the field (an older agent) is "preferred" again, and audited as a change.
        expect((await asServer.services.expose({ name: "strict-db", targetHost: "127.0.0.1", targetPort: 5434 })).e2ePolicy).toBe(
          "preferred",
        );
        const exposes = (await auditOf(team.apiKey, { type: "service", action: "expose" })).filter(
          (event) => event.target === "strict-db",
        );
        expect(exposes[0]?.data).toMatchObject({ e2ePolicy: "preferred", previousE2ePolicy: "required" });
        expect(exposes[0]?.data).not.toHaveProperty("previousTarget");
        await asServer.services.expose({ name: "strict-db", targetHost: "127.0.0.1", targetPort: 5434, e2e: "required" });
      },
    );

    it.skipIf(skip)("resolves an agent without a key as null, and refuses an unknown policy", async () => {
      const asLaptop = await harness.caller(laptop.token);
      await asLaptop.services.expose({ name: "laptop-web", targetHost: "127.0.0.1", targetPort: 3000 });
      expect((await (await harness.caller(server.token)).services.resolve({ name: "laptop-web" })).e2e).toEqual({
        policy: "preferred",
        publicKey: null,
      });
      await expectInputRefused(
        asLaptop.services.expose({ name: "laptop-web", targetHost: "127.0.0.1", targetPort: 3000, e2e: "maybe" as "off" }),
        /e2e must be required, preferred or off/,
      );
    });

    it.skipIf(skip)(
      "refuses a public link to a service that requires end-to-end encryption, and closes one made before",
      async () => {
        const asKey = await harness.caller(team.apiKey);
        await expectAppError(
          asKey.links.create({ service: "strict-db" }),
          "FORBIDDEN",
          "Service strict-db requires end-to-end encryption, and a public link is read by the hub (it applies methods and paths): give it a link only after exposing it with --e2e preferred (connect expose ... --name strict-db --e2e preferred)",
        );
        expect((await asKey.links.list()).filter((link) => link.service === "strict-db")).toEqual([]);

        // A link made while the service was "preferred" stops serving once it is "required".
        const asServer = await harness.caller(server.token);
        await asServer.services.expose({ name: "web", targetHost: "127.0.0.1", targetPort: 8080 });
        const link = await asKey.links.create({ service: "web" });
        const slug = new URL(link.url).pathname.split("/")[2] ?? "";
        expect((await resolveLinkForRequest(harness.deps, slug)).kind).toBe("found");
        await asServer.services.expose({ name: "web", targetHost: "127.0.0.1", targetPort: 8080, e2e: "required" });
        expect(await resolveLinkForRequest(harness.deps, slug)).toMatchObject({
          kind: "refused",
          status: 403,
          message: PUBLIC_LINK_E2E_REQUIRED,
        });
        await asServer.services.expose({ name: "web", targetHost: "127.0.0.1", targetPort: 8080, e2e: "preferred" });
        expect((await resolveLinkForRequest(harness.deps, slug)).kind).toBe("found");
      },
    );

    it.skipIf(skip)("reports isEndToEnd per open stream as the relay says it, and never for a public link", async () => {
      const describeBefore = harness.deps.presence.describeServiceTraffic;
      harness.deps.presence.describeServiceTraffic = async (services) =>
        services.map((service) =>
          service.serviceName === "strict-db"
            ? {
                bytesRelayed: 300,
                openStreams: 3,
                streams: [
                  { clientAgentId: laptop.agentId, bytes: 200, isEndToEnd: true },
                  { clientAgentId: laptop.agentId, bytes: 60 },
                  // A relay claiming a public link's request is encrypted is not believed.
                  { bytes: 40, isEndToEnd: true },
                ],
              }
            : { bytesRelayed: 0, openStreams: 0, streams: [] },
        );
      try {
        const traffic = await (await harness.caller(team.apiKey)).services.traffic();
        const strict = traffic.find((entry) => entry.name === "strict-db");
        expect(strict?.connections.map((connection) => [connection.via, connection.bytes, connection.isEndToEnd])).toEqual([
          ["agent", 200, true],
          ["agent", 60, false],
          ["link", 40, false],
        ]);
      } finally {
        harness.deps.presence.describeServiceTraffic = describeBefore;
      }
    });
  });

  describe("shared services", () => {
    it.skipIf(skip)("resolve the sharing workspace's agent and key, with the sharing workspace's effective policy", async () => {
      const asServer = await harness.caller(server.token);
      const created = await asServer.shares.create({ name: "e2e-contract", services: ["strict-db", "plain-db"] });
      const asContractor = await harness.caller(contractor.token);
      const joined = await asContractor.shares.join({ code: created.code });
      const serverKey = (await (await harness.caller(laptop.token)).services.resolve({ name: "strict-db" })).e2e.publicKey;

      expect(await asContractor.services.resolve({ name: "strict-db", from: joined.from })).toEqual({
        name: "strict-db",
        from: joined.from,
        shareName: "e2e-contract",
        agent: { id: server.agentId, label: "db-server", workspaceId: team.workspaceId },
        e2e: { policy: "required", publicKey: serverKey },
      });
      expect((await asContractor.services.resolve({ name: "plain-db" })).e2e.policy).toBe("preferred");

      const contractorPrincipal = {
        kind: "agent" as const,
        agentId: contractor.agentId,
        workspaceId: (await (await harness.caller(contractor.token)).agents.me()).workspace.id,
        label: "contractor-laptop",
        clientType: "cli",
        tokenExpiresAt: new Date(Date.now() + 86_400_000),
      };
      const route = await authorizeStreamOpen(harness.deps, contractorPrincipal, { service: "strict-db" });
      expect(route).toMatchObject({ agentId: server.agentId, workspaceId: team.workspaceId, e2ePolicy: "required" });
      expect(route.share?.id).toEqual(expect.any(String));

      // The outsider, who joined nothing, resolves none of it.
      await expectAppError(
        (await harness.caller(outsider.token)).services.resolve({ name: "strict-db", from: joined.from }),
        "NOT_FOUND",
        SERVICE_NOT_FOUND,
      );
    });
  });

  describe("workspace policy", () => {
    it.skipIf(skip)("is shown to every principal of the workspace, preferred by default", async () => {
      for (const caller of [
        await harness.caller(team.apiKey),
        await harness.caller(laptop.token),
        await team.member.in(team.workspaceId),
      ]) {
        expect(await caller.workspaces.get()).toEqual({
          id: team.workspaceId,
          name: team.workspaceName,
          slug: expect.any(String),
          e2ePolicy: "preferred",
        });
      }
    });

    it.skipIf(skip)("can be changed by an owner only, signed in", async () => {
      await expectAppError(
        (await team.member.in(team.workspaceId)).workspaces.setE2ePolicy({ policy: "required" }),
        "FORBIDDEN",
        OWNER_REQUIRED_FOR_SETTINGS,
      );
      await expectAppError(
        (await harness.caller(team.apiKey)).workspaces.setE2ePolicy({ policy: "required" }),
        "FORBIDDEN",
        USER_SESSION_REQUIRED,
      );
      await expectAppError(
        (await harness.caller(server.token)).workspaces.setE2ePolicy({ policy: "required" }),
        "FORBIDDEN",
        USER_SESSION_REQUIRED,
      );
      // An owner of another workspace is not an owner here: x-pc-workspace names none of theirs.
      const stranger = await harness.signIn(`e2e-stranger-${Date.now()}@example.com`);
      await expectAppError(
        (await stranger.in(team.workspaceId)).workspaces.setE2ePolicy({ policy: "required" }),
        "NOT_FOUND",
        WORKSPACE_NOT_FOUND,
      );
      expect((await (await harness.caller(team.apiKey)).workspaces.get()).e2ePolicy).toBe("preferred");
      await expectInputRefused(
        (await team.owner.in(team.workspaceId)).workspaces.setE2ePolicy({ policy: "off" as "preferred" }),
        /policy must be required or preferred/,
      );
    });

    it.skipIf(skip)("required overrides every service, refuses --e2e off and links, and is audited once per change", async () => {
      const asOwner = await team.owner.in(team.workspaceId);
      expect((await asOwner.workspaces.setE2ePolicy({ policy: "required" })).e2ePolicy).toBe("required");
      await asOwner.workspaces.setE2ePolicy({ policy: "required" });
      const changes = await auditOf(team.apiKey, { type: "workspace", action: "e2e_policy_changed" });
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({
        actor: { type: "user", id: team.owner.userId },
        data: { policy: "required", previousPolicy: "preferred" },
      });

      const asKey = await harness.caller(team.apiKey);
      // legacy-db asked for "off": the workspace's "required" holds it anyway, everywhere it is read.
      expect((await asKey.services.get({ name: "legacy-db" })).e2ePolicy).toBe("required");
      expect((await (await harness.caller(laptop.token)).services.resolve({ name: "legacy-db" })).e2e.policy).toBe("required");
      expect((await (await harness.caller(contractor.token)).services.resolve({ name: "plain-db" })).e2e.policy).toBe("required");

      const asServer = await harness.caller(server.token);
      await expectAppError(
        asServer.services.expose({ name: "legacy-db", targetHost: "127.0.0.1", targetPort: 5435, e2e: "off" }),
        "FORBIDDEN",
        /^This workspace requires end-to-end encryption for every service, so legacy-db cannot be exposed with --e2e off: expose it with --e2e required or --e2e preferred/,
      );
      expect(
        (await asServer.services.expose({ name: "legacy-db", targetHost: "127.0.0.1", targetPort: 5435, e2e: "preferred" }))
          .e2ePolicy,
      ).toBe("required");
      await expectAppError(
        asKey.links.create({ service: "plain-db" }),
        "FORBIDDEN",
        /because this workspace requires it for every service/,
      );

      await asOwner.workspaces.setE2ePolicy({ policy: "preferred" });
      expect((await asKey.services.get({ name: "legacy-db" })).e2ePolicy).toBe("preferred");
      expect(await auditOf(team.apiKey, { type: "workspace", action: "e2e_policy_changed" })).toHaveLength(2);
    });

    it.skipIf(skip)("is per workspace: A's required changes nothing of another workspace's services", async () => {
      const asOwner = await team.owner.in(team.workspaceId);
      await asOwner.workspaces.setE2ePolicy({ policy: "required" });
      try {
        const asContractor = await harness.caller(contractor.token);
        await asContractor.services.expose({ name: "contractor-db", targetHost: "127.0.0.1", targetPort: 5432, e2e: "off" });
        expect((await (await harness.caller(contractorKey)).services.get({ name: "contractor-db" })).e2ePolicy).toBe("off");
        expect((await (await harness.caller(contractorKey)).workspaces.get()).e2ePolicy).toBe("preferred");
      } finally {
        await asOwner.workspaces.setE2ePolicy({ policy: "preferred" });
      }
    });
  });
});
