import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_NOT_FOUND } from "../errors.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";

const REQUESTS = 200;

interface Tenant {
  workspaceId: string;
  apiKey: string;
  agentToken: string;
  agentId: string;
  serviceNames: string[];
}

// The harness opens PostgreSQL with a runtime pool of 5 connections, so 200 requests in flight
// share each connection with about 40 others, one transaction after another; PGlite has a single
// session that every request's transaction queues for.
describe.each(testEngines)("200 concurrent requests of workspaces A and B on $name", ({ name, skip }) => {
  let harness: Harness;
  let a: Tenant;
  let b: Tenant;

  async function seed(label: string, serviceNames: string[]): Promise<Tenant> {
    const { workspaceId, apiKey } = await harness.createTestWorkspace(`Concurrent ${label}`);
    const { agentId, token } = await harness.registerTestAgent(apiKey, `${label}-server`);
    const caller = await harness.caller(token);
    for (const [index, serviceName] of serviceNames.entries()) {
      await caller.services.expose({ name: serviceName, targetHost: "127.0.0.1", targetPort: 1000 + index });
    }
    return { workspaceId, apiKey, agentToken: token, agentId, serviceNames };
  }

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    a = await seed("a", ["a-api", "a-cache", "a-db"]);
    b = await seed("b", ["b-db", "b-queue"]);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)(
    "never lets a request of one workspace see the other's rows",
    async () => {
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          const [self, other] = i % 2 === 0 ? [a, b] : [b, a];
          // Each request authenticates anew, like an HTTP request: API key or agent token in turn.
          const caller = await harness.caller(i % 4 < 2 ? self.apiKey : self.agentToken);
          const listed = await caller.services.list();
          const mine = await caller.services.get({ name: self.serviceNames[0] ?? "" });
          await expectAppError(caller.services.get({ name: other.serviceNames[0] ?? "" }), "NOT_FOUND", SERVICE_NOT_FOUND);
          return { self, listed, mine };
        }),
      );
      const elapsedMs = performance.now() - started;
      for (const { self, listed, mine } of outcomes) {
        expect(listed.map((service) => service.name)).toEqual(self.serviceNames);
        expect(new Set(listed.map((service) => service.agentId))).toEqual(new Set([self.agentId]));
        expect(mine.agentId).toBe(self.agentId);
      }
      expect(outcomes.filter(({ self }) => self === a)).toHaveLength(REQUESTS / 2);
      // A generous bound that still catches requests serialising behind a stuck transaction.
      expect(elapsedMs).toBeLessThan(30_000);
    },
    60_000,
  );

  if (name === "postgres") {
    it.skipIf(skip)("served them over no more than the pool's 5 connections", async () => {
      const queryAsSuperuser = harness.queryAsSuperuser;
      if (queryAsSuperuser === undefined) throw new Error("the postgres harness has a superuser connection");
      const rows = await queryAsSuperuser(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      const connections = Number(rows[0]?.n);
      expect(connections).toBeGreaterThan(1);
      expect(connections).toBeLessThanOrEqual(5);
    });
  }
});
