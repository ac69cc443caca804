import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_NOT_FOUND } from "../errors.js";
import { authorizeStreamOpen } from "../services/services/authorize-stream-open.js";
import { expectAppError, type Harness, openHarness, testEngines } from "../test-support/harness.js";

describe.each(testEngines)("services router on $name", ({ name, skip }) => {
  let harness: Harness;
  let apiKeyA: string;
  let server: { agentId: string; token: string };
  let laptop: { agentId: string; token: string };

  beforeAll(async () => {
    if (skip) return;
    harness = await openHarness(name);
    ({ apiKey: apiKeyA } = await harness.createTestWorkspace("Workspace A"));
    server = await harness.registerTestAgent(apiKeyA, "db-server");
    laptop = await harness.registerTestAgent(apiKeyA, "laptop");
  });

  afterAll(async () => {
    await harness?.close();
  });

  it.skipIf(skip)("exposes, lists, gets and unexposes a service", async () => {
    const asServer = await harness.caller(server.token);
    const exposed = await asServer.services.expose({ name: "prod-db", targetHost: "127.0.0.1", targetPort: 5432 });
    expect(exposed).toEqual({
      id: expect.any(String),
      name: "prod-db",
      targetHost: "127.0.0.1",
      targetPort: 5432,
      agentId: server.agentId,
      e2ePolicy: "preferred",
    });

    harness.online.add(server.agentId);
    const view = {
      id: exposed.id,
      name: "prod-db",
      agentId: server.agentId,
      agentLabel: "db-server",
      targetHost: "127.0.0.1",
      targetPort: 5432,
      online: true,
      e2ePolicy: "preferred",
    };
    // Any principal of the workspace sees it: another agent, and the API key.
    expect(await (await harness.caller(laptop.token)).services.list()).toEqual([view]);
    expect(await (await harness.caller(apiKeyA)).services.get({ name: "prod-db" })).toEqual(view);
    harness.online.delete(server.agentId);
    expect((await (await harness.caller(apiKeyA)).services.get({ name: "prod-db" })).online).toBe(false);

    expect(await asServer.services.unexpose({ name: "prod-db" })).toEqual({ removed: true });
    expect(await asServer.services.list()).toEqual([]);
    await expectAppError(asServer.services.get({ name: "prod-db" }), "NOT_FOUND", SERVICE_NOT_FOUND);
    await expectAppError(asServer.services.unexpose({ name: "prod-db" }), "NOT_FOUND", SERVICE_NOT_FOUND);
  });

  it.skipIf(skip)("treats a re-expose by the same agent as an update of the target, not a duplicate", async () => {
    const asServer = await harness.caller(server.token);
    const first = await asServer.services.expose({ name: "redis", targetHost: "127.0.0.1", targetPort: 6379 });
    const again = await asServer.services.expose({ name: "redis", targetHost: "127.0.0.1", targetPort: 6379 });
    const moved = await asServer.services.expose({ name: "redis", targetHost: "10.0.0.5", targetPort: 6380 });
    expect(again.id).toBe(first.id);
    expect(moved).toEqual({
      id: first.id,
      name: "redis",
      targetHost: "10.0.0.5",
      targetPort: 6380,
      agentId: server.agentId,
      e2ePolicy: "preferred",
    });
    const named = (await asServer.services.list()).filter((service) => service.name === "redis");
    expect(named).toHaveLength(1);
  });

  it.skipIf(skip)("refuses a name another agent of the workspace already exposes, naming that agent", async () => {
    await (await harness.caller(server.token)).services.expose({ name: "api", targetHost: "localhost", targetPort: 8080 });
    await expectAppError(
      (await harness.caller(laptop.token)).services.expose({ name: "api", targetHost: "localhost", targetPort: 3000 }),
      "CONFLICT",
      "Service name api is already exposed by agent db-server: choose another --name, or remove it there with connect expose --remove api",
    );
    // Nor can it remove someone else's service.
    await expectAppError((await harness.caller(laptop.token)).services.unexpose({ name: "api" }), "NOT_FOUND", SERVICE_NOT_FOUND);
    expect((await (await harness.caller(apiKeyA)).services.get({ name: "api" })).targetPort).toBe(8080);
  });

  it.skipIf(skip)("settles two agents racing for the same new name: one wins, the other gets CONFLICT", async () => {
    const results = await Promise.allSettled([
      (await harness.caller(server.token)).services.expose({ name: "raced", targetHost: "a", targetPort: 1 }),
      (await harness.caller(laptop.token)).services.expose({ name: "raced", targetHost: "b", targetPort: 2 }),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
    const rejected = results.find((result) => result.status === "rejected");
    expect(rejected?.reason).toMatchObject({ code: "CONFLICT" });
  });

  it.skipIf(skip)("explains an invalid service name, port or host", async () => {
    const asServer = await harness.caller(server.token);
    await expect(asServer.services.expose({ name: "Prod_DB", targetHost: "h", targetPort: 1 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^name: Service name must be 1-63 characters of lowercase letters, digits and dashes/),
    });
    await expect(asServer.services.expose({ name: "ok", targetHost: "h", targetPort: 70000 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "targetPort: Target port must be between 1 and 65535",
    });
    await expect(asServer.services.expose({ name: "ok", targetHost: "h; rm -rf /", targetPort: 1 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
  });

  it.skipIf(skip)("only lets agents expose and unexpose", async () => {
    await expectAppError(
      (await harness.caller(apiKeyA)).services.expose({ name: "by-key", targetHost: "h", targetPort: 1 }),
      "FORBIDDEN",
      /needs an agent token/,
    );
  });

  describe("outsider from workspace B", () => {
    let apiKeyB: string;
    let outsider: { agentId: string; token: string };

    beforeAll(async () => {
      if (skip) return;
      ({ apiKey: apiKeyB } = await harness.createTestWorkspace("Workspace B"));
      outsider = await harness.registerTestAgent(apiKeyB, "outsider");
      await (await harness.caller(server.token)).services.expose({
        name: "secret-db",
        targetHost: "127.0.0.1",
        targetPort: 5432,
      });
    });

    it.skipIf(skip)("cannot see A's services in a listing", async () => {
      expect(await (await harness.caller(outsider.token)).services.list()).toEqual([]);
      expect(await (await harness.caller(apiKeyB)).services.list()).toEqual([]);
    });

    it.skipIf(skip)("gets exactly 'Service not found' for A's service, as for a name that exists nowhere", async () => {
      for (const bearer of [outsider.token, apiKeyB]) {
        await expectAppError((await harness.caller(bearer)).services.get({ name: "secret-db" }), "NOT_FOUND", SERVICE_NOT_FOUND);
        await expectAppError(
          (await harness.caller(bearer)).services.get({ name: "no-such-service" }),
          "NOT_FOUND",
          SERVICE_NOT_FOUND,
        );
      }
      await expectAppError(
        (await harness.caller(outsider.token)).services.unexpose({ name: "secret-db" }),
        "NOT_FOUND",
        SERVICE_NOT_FOUND,
      );
      expect((await (await harness.caller(apiKeyA)).services.get({ name: "secret-db" })).name).toBe("secret-db");
    });

    it.skipIf(skip)("is refused a stream to A's service with 'Service not found', while A's own agent is allowed", async () => {
      const outsiderPrincipal = await harness.deps.db.authenticateAgentTokenHash(
        (await import("@private-connect/db")).sha256Hex(outsider.token),
      );
      expect(outsiderPrincipal).not.toBeNull();
      if (outsiderPrincipal === null) return;
      const principalB = { kind: "agent" as const, ...outsiderPrincipal };
      await expectAppError(
        authorizeStreamOpen(harness.deps, principalB, { service: "secret-db" }),
        "NOT_FOUND",
        SERVICE_NOT_FOUND,
      );
      await expectAppError(authorizeStreamOpen(harness.deps, principalB, { service: "nowhere" }), "NOT_FOUND", SERVICE_NOT_FOUND);
      await expectAppError(
        authorizeStreamOpen(harness.deps, principalB, { service: "../Bad Name" }),
        "NOT_FOUND",
        SERVICE_NOT_FOUND,
      );

      const laptopAuth = await harness.deps.db.authenticateAgentTokenHash(
        (await import("@private-connect/db")).sha256Hex(laptop.token),
      );
      if (laptopAuth === null) throw new Error("laptop agent vanished");
      const route = await authorizeStreamOpen(harness.deps, { kind: "agent", ...laptopAuth }, { service: "secret-db" });
      expect(route).toEqual({
        serviceId: expect.any(String),
        serviceName: "secret-db",
        agentId: server.agentId,
        workspaceId: laptopAuth.workspaceId,
        e2ePolicy: "preferred",
      });
    });

    it.skipIf(skip)("can expose the same name in its own workspace without touching A's", async () => {
      const mine = await (await harness.caller(outsider.token)).services.expose({
        name: "secret-db",
        targetHost: "10.9.9.9",
        targetPort: 1,
      });
      expect(mine.agentId).toBe(outsider.agentId);
      expect((await (await harness.caller(apiKeyA)).services.get({ name: "secret-db" })).targetHost).toBe("127.0.0.1");
    });
  });
});
