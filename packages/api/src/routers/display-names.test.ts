import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../errors.js";
import { provisionAgent } from "../services/agents/provision-agent.js";
import { authenticateBearer } from "../services/auth/authenticate-bearer.js";
import { createWorkspace } from "../services/workspaces/create-workspace.js";
import { type Harness, openHarness } from "../test-support/harness.js";

/**
 * What an attacker would put in a name that someone else's terminal prints: a screen clear, a
 * window retitle ending in BEL, a C1 CSI, a right-to-left override, NUL, a forged second line.
 * Each next to the code point the refusal names.
 */
const HOSTILE: [string, string][] = [
  ["\u001b[2J", "U+001B"],
  ["\u001b]0;PWNED\u0007", "U+001B"],
  ["bell\u0007", "U+0007"],
  ["csi\u009b2J", "U+009B"],
  ["invoice\u202efdp.exe", "U+202E"],
  ["isolate\u2066x\u2069", "U+2066"],
  ["nul\u0000byte", "U+0000"],
  ["first\nsecond", "U+000A"],
  ["tab\tbed", "U+0009"],
  ["line\u2028break", "U+2028"],
  ["lone\ud800surrogate", "U+D800"],
];

/** Names from people who do not write in ASCII, and emoji with their zero-width joiners. */
const ORDINARY = ["Büro 東京", "équipe-paris", "👩‍💻 dev box", "Zürich (prod)"];

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, "expected the hub to refuse the name").toBeDefined();
  if (error instanceof TRPCError) return { code: error.code, message: error.message };
  if (error instanceof AppError) return { code: error.code, message: error.message };
  throw error;
}

// Validation happens before any query, so one engine is enough.
describe("display names refuse control characters, line breaks and direction overrides (PGlite)", () => {
  let harness: Harness;
  let apiKey: string;

  beforeAll(async () => {
    harness = await openHarness("pglite");
    ({ apiKey } = await harness.createTestWorkspace("names"));
  });

  afterAll(async () => {
    await harness?.close();
  });

  it("agents.register: refuses a hostile label naming the field and the character, and registers nothing", async () => {
    const caller = await harness.caller(apiKey);
    for (const [label, codePoint] of HOSTILE) {
      expect(await refusal(caller.agents.register({ label }))).toEqual({
        code: "BAD_REQUEST",
        message: `label: Agent label must not contain control characters, line breaks or text-direction marks (it contains ${codePoint}): pass a different --label`,
      });
    }
    expect(await caller.agents.list()).toEqual([]);
    for (const label of ORDINARY) await caller.agents.register({ label });
    expect((await caller.agents.list()).map((agent) => agent.label).sort()).toEqual([...ORDINARY].sort());
  });

  it("deviceAuth.start (connect login): refuses a hostile label before any approval page shows it", async () => {
    const caller = await harness.caller();
    for (const [label, codePoint] of HOSTILE) {
      const refused = await refusal(caller.deviceAuth.start({ label, hubUrl: "http://127.0.0.1:8080" }));
      expect(refused.code).toBe("BAD_REQUEST");
      expect(refused.message).toContain(`label: Agent label must not contain control characters`);
      expect(refused.message).toContain(codePoint);
    }
    await expect(caller.deviceAuth.start({ label: "Büro 東京", hubUrl: "http://127.0.0.1:8080" })).resolves.toMatchObject({
      userCode: expect.any(String),
    });
  });

  it("agents.provision and the service behind POST /v1/agents/provision: refuse a hostile label", async () => {
    const caller = await harness.caller(apiKey);
    const before = (await caller.agents.list()).length;
    const principal = await authenticateBearer(harness.deps, apiKey);
    if (principal.kind !== "apiKey") throw new Error("expected an API key principal");
    for (const [label, codePoint] of HOSTILE) {
      const refused = await refusal(caller.agents.provision({ clientType: "claude-code", label }));
      expect(refused.code).toBe("BAD_REQUEST");
      expect(refused.message).toMatch(/^label must not contain control characters, line breaks or text-direction marks/);
      expect(refused.message).toContain(codePoint);
      // The REST route passes the parsed JSON body as it came.
      const direct = await refusal(provisionAgent(harness.deps, principal, { clientType: "cursor", label }));
      expect(direct).toEqual(refused);
    }
    expect(await caller.agents.list()).toHaveLength(before);
    await expect(caller.agents.provision({ clientType: "claude-code", label: "Büro 東京" })).resolves.toMatchObject({
      agentId: expect.any(String),
    });
  });

  it("shares.create: refuses a hostile share name, accepts any script", async () => {
    const agent = await harness.registerTestAgent(apiKey, "sharer");
    const caller = await harness.caller(agent.token);
    await caller.services.expose({ name: "names-db", targetHost: "127.0.0.1", targetPort: 5432 });
    for (const [name, codePoint] of HOSTILE) {
      expect(await refusal(caller.shares.create({ name }))).toEqual({
        code: "BAD_REQUEST",
        message: `name: Share name must not contain control characters, line breaks or text-direction marks (it contains ${codePoint}): pass a different --name, for example acme-contractor`,
      });
    }
    expect(await caller.shares.list()).toEqual([]);
    await expect(caller.shares.create({ name: "Büro 東京" })).resolves.toMatchObject({ name: "Büro 東京" });
  });

  it("apiKeys.create: refuses a hostile key name, accepts any script", async () => {
    const caller = await harness.caller(apiKey);
    const before = await caller.apiKeys.list();
    for (const [name, codePoint] of HOSTILE) {
      expect(await refusal(caller.apiKeys.create({ name }))).toEqual({
        code: "BAD_REQUEST",
        message: `name: API key name must not contain control characters, line breaks or text-direction marks (it contains ${codePoint}): name it after where it is used, for example ci`,
      });
    }
    expect(await caller.apiKeys.list()).toEqual(before);
    await expect(caller.apiKeys.create({ name: "Büro 東京" })).resolves.toMatchObject({ name: "Büro 東京" });
  });

  it("workspaces.create and connect-hub workspace create: refuse a hostile workspace name", async () => {
    const user = await harness.signIn("names-owner@example.com");
    const caller = await user.browser.caller();
    for (const [name, codePoint] of HOSTILE) {
      expect(await refusal(caller.workspaces.create({ name }))).toEqual({
        code: "BAD_REQUEST",
        message: `name: Workspace name must not contain control characters, line breaks or text-direction marks (it contains ${codePoint}): choose a name without them`,
      });
      const admin = await refusal(createWorkspace(harness.deps, { name, ownerEmail: "names-admin@example.com" }));
      expect(admin.code).toBe("BAD_REQUEST");
      expect(admin.message).toContain(`Workspace name must not contain control characters`);
    }
    expect((await caller.auth.me()).workspaces).toHaveLength(1);
    await expect(caller.workspaces.create({ name: "Büro 東京" })).resolves.toMatchObject({ name: "Büro 東京" });
    await expect(createWorkspace(harness.deps, { name: "Zürich", ownerEmail: "names-admin@example.com" })).resolves.toMatchObject(
      {
        workspace: { name: "Zürich" },
      },
    );
  });
});
