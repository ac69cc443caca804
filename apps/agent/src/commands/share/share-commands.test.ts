import { fileURLToPath } from "node:url";
import type { ShareView } from "@private-connect/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureOutput } from "../../test-support/capture-output.js";
import type { FakeHubAnswer, FakeHubCall, FakeHubServer } from "../../test-support/fake-hub-server.js";
import { openRegisteredAgent, type RegisteredAgent } from "../../test-support/registered-agent.js";
import Share from "../share.js";
import ShareList from "./list.js";
import ShareRevoke from "./revoke.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const TOKEN = "a".repeat(64);
const SHARE_ID = "00000000-0000-4000-8000-0000000000a1";
const CODE = "K7QX-9MZP-R2TW-4HNC";

const SHARES: ShareView[] = [
  {
    id: SHARE_ID,
    name: "acme-contractor",
    codeHint: "K7QX",
    services: ["prod-db", "redis"],
    createdAt: "2030-01-01T00:00:00.000Z",
    expiresAt: "2030-01-08T00:00:00.000Z",
    revokedAt: null,
    status: "active",
    rateLimitPerMinute: null,
    useCount: 3,
    lastUsedAt: "2030-01-02T00:00:00.000Z",
    joiners: [{ agentLabel: "laptop", joinedAt: "2030-01-01T01:00:00.000Z", useCount: 3, lastUsedAt: null }],
  },
];
const REVOKED = { id: SHARE_ID, name: "acme-contractor", revokedAt: "2030-01-03T00:00:00.000Z" };
const LIST_HEADER = /^Name\s+Code\s+Status\s+Expires\s+Services\s+Joiners\s+Uses\s+Id$/;

let dir: string;
let hub: FakeHubServer;

function answer(call: FakeHubCall): FakeHubAnswer | undefined {
  if (call.procedure === "shares.list") return { data: SHARES };
  if (call.procedure === "shares.revoke") {
    const input = call.input as { code?: string; id?: string };
    if (input.code === CODE || input.id === SHARE_ID) return { data: REVOKED };
    return {
      error: {
        code: "NOT_FOUND",
        httpStatus: 404,
        message: "Share not found in this workspace: check the code, or use the id from connect share list",
      },
    };
  }
  if (call.procedure === "shares.create") {
    return {
      data: {
        id: SHARE_ID,
        name: "staging",
        code: CODE,
        services: ["prod-db"],
        expiresAt: "2030-01-08T00:00:00.000Z",
        rateLimitPerMinute: 100,
      },
    };
  }
  return undefined;
}

let registered: RegisteredAgent;

beforeEach(async () => {
  registered = await openRegisteredAgent(answer, {
    agentId: "00000000-0000-4000-8000-00000000000a",
    token: TOKEN,
    tokenExpiresAt: "2030-03-01T00:00:00.000Z",
    workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
    label: "server",
  });
  ({ dir, hub } = registered);
});

afterEach(async () => {
  await registered.close();
});

describe("connect share list", () => {
  it("prints the workspace's shares as a table, asked as this machine's agent", async () => {
    const result = await captureOutput(() => ShareList.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(LIST_HEADER);
    expect(lines[1]).toMatch(
      /^acme-contractor\s+K7QX-…\s+active\s+2030-01-08T00:00:00.000Z\s+prod-db,redis\s+laptop \(3\)\s+3\s+/,
    );
    expect(result.stderr).toBe("");
    expect(hub.calls.map((call) => [call.procedure, call.authorization])).toEqual([["shares.list", `Bearer ${TOKEN}`]]);
  });

  it("gives scripts the hub's fields with --json", async () => {
    const result = await captureOutput(() => ShareList.run(["--config", dir, "--json"], ROOT));
    expect(JSON.parse(result.stdout)).toEqual(SHARES);
  });
});

describe("connect share revoke", () => {
  it("revokes by code, or by the id the list shows", async () => {
    const byCode = await captureOutput(() => ShareRevoke.run([CODE, "--config", dir], ROOT));
    expect(byCode.exitCode).toBe(0);
    expect(byCode.stdout).toBe("Revoked share acme-contractor: its open connections were cut and the code no longer works\n");
    const byId = await captureOutput(() => ShareRevoke.run([SHARE_ID, "--config", dir, "--json"], ROOT));
    expect(JSON.parse(byId.stdout)).toEqual(REVOKED);
    expect(hub.calls.map((call) => [call.procedure, call.input])).toEqual([
      ["shares.revoke", { code: CODE }],
      ["shares.revoke", { id: SHARE_ID }],
    ]);
  });

  it("passes on the hub's not found, with a non-zero exit", async () => {
    const result = await captureOutput(() => ShareRevoke.run(["ZZZZ-ZZZZ-ZZZZ-ZZZZ", "--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      "Error: Share not found in this workspace: check the code, or use the id from connect share list",
    );
  });

  it("needs the code or id", async () => {
    const result = await captureOutput(() => ShareRevoke.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/Missing 1 required arg/);
    expect(hub.calls).toEqual([]);
  });
});

describe("connect share", () => {
  it("still creates a share, and names the new revoke form", async () => {
    const result = await captureOutput(() =>
      Share.run(["--name", "staging", "--services", "prod-db", "--rate-limit", "100", "--config", dir], ROOT),
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Share code: ${CODE}`);
    expect(result.stdout).toContain("revoke it with connect share revoke <code>");
    expect(hub.calls.map((call) => [call.procedure, call.input])).toEqual([
      ["shares.create", { name: "staging", expiresInSeconds: 7 * 86_400, services: ["prod-db"], rateLimitPerMinute: 100 }],
    ]);
  });

  it("keeps --list working, with a one-line hint on stderr naming connect share list", async () => {
    const text = await captureOutput(() => Share.run(["--list", "--config", dir], ROOT));
    expect(text.exitCode).toBe(0);
    expect(text.stdout.split("\n")[0]).toMatch(LIST_HEADER);
    expect(text.stderr).toBe("Warning: connect share --list is deprecated: use connect share list\n");
    // Under --json too: stdout stays the JSON alone.
    const json = await captureOutput(() => Share.run(["--list", "--json", "--config", dir], ROOT));
    expect(JSON.parse(json.stdout)).toEqual(SHARES);
    expect(json.stderr).toBe("Warning: connect share --list is deprecated: use connect share list\n");
  });

  it("keeps --revoke working, with a one-line hint on stderr naming connect share revoke", async () => {
    const result = await captureOutput(() => Share.run(["--revoke", CODE, "--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("Revoked share acme-contractor: its open connections were cut and the code no longer works\n");
    expect(result.stderr).toBe("Warning: connect share --revoke is deprecated: use connect share revoke CODE|ID\n");
    expect(hub.calls.map((call) => [call.procedure, call.input])).toEqual([["shares.revoke", { code: CODE }]]);
  });

  it("refuses --list with creation flags, as before", async () => {
    const result = await captureOutput(() => Share.run(["--list", "--name", "x", "--config", dir], ROOT));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/cannot also be provided/);
    expect(hub.calls).toEqual([]);
  });
});
