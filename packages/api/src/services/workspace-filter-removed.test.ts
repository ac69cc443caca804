import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPrincipal, ApiKeyPrincipal } from "../deps.js";
import { SERVICE_NOT_FOUND } from "../errors.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";
import { type FilterlessDeps, removeWorkspaceFilter } from "../test-support/remove-workspace-filter.js";
import { recordAgentSeen } from "./agents/record-agent-seen.js";
import { authorizeStreamOpen } from "./services/authorize-stream-open.js";
import { exposeService } from "./services/expose-service.js";
import { getService } from "./services/get-service.js";
import { listServices } from "./services/list-services.js";
import { unexposeService } from "./services/unexpose-service.js";

interface SeededWorkspace {
  key: ApiKeyPrincipal;
  agent: AgentPrincipal;
}

// The application filters every query by workspace; these tests take that filter away (through
// the removeWorkspaceFilter seam) and show that the database still keeps B's rows from A.
describe.each(testEngines)("service functions with the workspace filter removed, on $name", ({ name, skip }) => {
  let harness: Harness;
  let filterless: FilterlessDeps;
  let a: SeededWorkspace;
  let b: SeededWorkspace;

  async function seed(label: string, ports: { own: number; shared: number }): Promise<SeededWorkspace> {
    const { workspaceId, apiKey } = await harness.createTestWorkspace(`Filterless ${label}`);
    const { agentId, token } = await harness.registerTestAgent(apiKey, `${label}-server`);
    const caller = await harness.caller(token);
    await caller.services.expose({ name: `${label}-db`, targetHost: "127.0.0.1", targetPort: ports.own });
    await caller.services.expose({ name: "shared", targetHost: "127.0.0.1", targetPort: ports.shared });
    const me = await caller.agents.me();
    return {
      key: { kind: "apiKey", apiKeyId: "00000000-0000-4000-8000-000000000000", workspaceId },
      agent: {
        kind: "agent",
        agentId,
        workspaceId,
        label: me.label,
        clientType: me.clientType,
        tokenExpiresAt: new Date(me.tokenExpiresAt),
      },
    };
  }

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    a = await seed("a", { own: 5432, shared: 1111 });
    b = await seed("b", { own: 6543, shared: 2222 });
  });

  afterAll(async () => {
    await harness?.close();
  });

  function freshSeam(): FilterlessDeps {
    filterless = removeWorkspaceFilter(harness.deps);
    return filterless;
  }

  it.skipIf(skip)("lists only A's services for A, although the query no longer names a workspace", async () => {
    const { deps, removed } = freshSeam();
    const listed = await listServices(deps, a.key);
    expect(removed).toEqual(["service.findMany"]);
    expect(listed.map((service) => [service.name, service.targetPort])).toEqual([
      ["a-db", 5432],
      ["shared", 1111],
    ]);
    // The same filterless query does match B's rows: from B's context it returns them.
    expect((await listServices(deps, b.key)).map((service) => service.name)).toEqual(["b-db", "shared"]);
  });

  it.skipIf(skip)("finds none of B's services by name for A, for reads and for stream authorization", async () => {
    const { deps, removed } = freshSeam();
    await expectAppError(getService(deps, a.key, { name: "b-db" }), "NOT_FOUND", SERVICE_NOT_FOUND);
    expect((await getService(deps, a.key, { name: "shared" })).targetPort).toBe(1111);
    await expectAppError(authorizeStreamOpen(deps, a.agent, { service: "b-db" }), "NOT_FOUND", SERVICE_NOT_FOUND);
    expect((await authorizeStreamOpen(deps, a.agent, { service: "shared" })).agentId).toBe(a.agent.agentId);
    // A name A does not expose is also looked up among the shares A's agent joined: that
    // lookup ran without its workspace filter too, and still found nothing of B's.
    expect(removed).toEqual([
      "service.findFirst",
      "service.findFirst",
      "service.findFirst",
      "joinedShare.findMany",
      "service.findFirst",
    ]);
  });

  it.skipIf(skip)("does not tell A that B already exposes a name, nor name B's agent", async () => {
    const { deps, removed } = freshSeam();
    // Without RLS the existence check would find B's b-db and answer CONFLICT "... by agent b-server".
    const exposed = await exposeService(deps, a.agent, { name: "b-db", targetHost: "10.0.0.1", targetPort: 7 });
    expect(exposed).toMatchObject({ name: "b-db", agentId: a.agent.agentId, targetPort: 7 });
    expect(removed[0]).toBe("service.findFirst");
    expect((await getService(harness.deps, b.key, { name: "b-db" })).targetPort).toBe(6543);
  });

  it.skipIf(skip)("cannot remove or touch B's rows even with B's agent id and no workspace filter", async () => {
    const { deps, removed } = freshSeam();
    // A confused principal: A's workspace context, B's agent id. Only the database stands between it and B.
    const confused: AgentPrincipal = { ...a.agent, agentId: b.agent.agentId };
    await expectAppError(unexposeService(deps, confused, { name: "shared" }), "NOT_FOUND", SERVICE_NOT_FOUND);
    await recordAgentSeen(deps, confused, { ip: "203.0.113.9" });
    // The filterless read that precedes the delete already finds nothing of B's.
    expect(removed).toEqual(["service.findFirst", "agent.updateMany"]);

    expect((await listServices(harness.deps, b.key)).map((service) => service.name)).toEqual(["b-db", "shared"]);
    const agentB = await harness.db.withWorkspace(b.key.workspaceId, (tx) =>
      tx.agent.findUnique({ where: { id: b.agent.agentId }, select: { lastSeenAt: true, lastIp: true } }),
    );
    expect(agentB).toEqual({ lastSeenAt: null, lastIp: null });
  });

  // PostgreSQL only: the PGlite harness has no connection outside the runtime role to flip RLS with.
  if (name === "postgres") {
    it.skipIf(skip)("control: with RLS switched off the same filterless call does return B's rows", async () => {
      // Proves the tests above can fail: the only thing hiding B's rows there is the policy.
      const queryAsSuperuser = harness.queryAsSuperuser;
      if (queryAsSuperuser === undefined) throw new Error("the postgres harness has a superuser connection");
      const { deps } = freshSeam();
      // Both tables: the listing joins each service's agent, which agents' own policy would hide.
      const tables = ["services", "agents"];
      await queryAsSuperuser(
        tables.map((table) => `ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;`).join(""),
      );
      const ownersOfListed = async () => new Set((await listServices(deps, a.key)).map((service) => service.agentId));
      try {
        expect(await ownersOfListed()).toEqual(new Set([a.agent.agentId, b.agent.agentId]));
      } finally {
        await queryAsSuperuser(
          tables.map((table) => `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;`).join(""),
        );
      }
      expect(await ownersOfListed()).toEqual(new Set([a.agent.agentId]));
    });
  }
});
