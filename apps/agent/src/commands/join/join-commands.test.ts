import { fileURLToPath } from "node:url";
import type { JoinedShareView } from "@private-connect/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureOutput } from "../../test-support/capture-output.js";
import type { FakeHubAnswer, FakeHubCall, FakeHubServer } from "../../test-support/fake-hub-server.js";
import { openRegisteredAgent, type RegisteredAgent } from "../../test-support/registered-agent.js";
import Join from "../join.js";
import JoinList from "./list.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const TOKEN = "c".repeat(64);
const CODE = "K7QX-9MZP-R2TW-4HNC";

const JOINED: JoinedShareView[] = [
  {
    shareId: "00000000-0000-4000-8000-0000000000c1",
    shareName: "acme-contractor",
    from: "acme",
    services: ["prod-db"],
    expiresAt: "2030-01-08T00:00:00.000Z",
    status: "active",
    joinedAt: "2030-01-01T00:00:00.000Z",
  },
];

let dir: string;
let hub: FakeHubServer;

function answer(call: FakeHubCall): FakeHubAnswer | undefined {
  if (call.procedure === "shares.joined") return { data: JOINED };
  if (call.procedure === "shares.join") return { data: JOINED[0] };
  return undefined;
}

let registered: RegisteredAgent;

beforeEach(async () => {
  registered = await openRegisteredAgent(answer, {
    agentId: "00000000-0000-4000-8000-00000000000b",
    token: TOKEN,
    tokenExpiresAt: "2030-03-01T00:00:00.000Z",
    workspace: { id: "00000000-0000-4000-8000-000000000002", name: "contractor" },
    label: "laptop",
  });
  ({ dir, hub } = registered);
});

afterEach(async () => {
  await registered.close();
});

describe("connect join list", () => {
  it("lists what this agent joined, as a table and with --json", async () => {
    const text = await captureOutput(() => JoinList.run(["--config", dir], ROOT));
    expect(text.exitCode).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^From\s+Share\s+Status\s+Expires\s+Services$/);
    expect(lines[1]).toMatch(/^acme\s+acme-contractor\s+active\s+2030-01-08T00:00:00.000Z\s+prod-db$/);
    const json = await captureOutput(() => JoinList.run(["--config", dir, "--json"], ROOT));
    expect(JSON.parse(json.stdout)).toEqual(JOINED);
    expect(hub.calls.map((call) => [call.procedure, call.authorization])).toEqual([
      ["shares.joined", `Bearer ${TOKEN}`],
      ["shares.joined", `Bearer ${TOKEN}`],
    ]);
  });
});

describe("connect join", () => {
  it("still joins with CODE", async () => {
    const result = await captureOutput(() => Join.run([CODE, "--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Joined share acme-contractor from acme: prod-db until 2030-01-08T00:00:00.000Z");
    expect(hub.calls.map((call) => [call.procedure, call.input])).toEqual([["shares.join", { code: CODE }]]);
  });

  it("keeps --list working, with a one-line hint on stderr naming connect join list", async () => {
    const result = await captureOutput(() => Join.run(["--list", "--json", "--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(JOINED);
    expect(result.stderr).toBe("Warning: connect join --list is deprecated: use connect join list\n");
    expect(hub.calls.map((call) => call.procedure)).toEqual(["shares.joined"]);
  });

  it("without a code, says what to give and where the list went", async () => {
    const result = await captureOutput(() => Join.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      "Give the share code, for example connect join K7QX-9MZP-R2TW-4HNC (connect join list shows the shares this agent joined)",
    );
    expect(hub.calls).toEqual([]);
  });
});
