import { fileURLToPath } from "node:url";
import type { LinkView } from "@private-connect/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureOutput } from "../../test-support/capture-output.js";
import type { FakeHubAnswer, FakeHubCall, FakeHubServer } from "../../test-support/fake-hub-server.js";
import { openRegisteredAgent, type RegisteredAgent } from "../../test-support/registered-agent.js";
import Link from "../link.js";
import LinkList from "./list.js";
import LinkRevoke from "./revoke.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const TOKEN = "b".repeat(64);
const LINK_ID = "00000000-0000-4000-8000-0000000000b1";
const URL_TEXT = "https://k7qxa2mzvd4npt6lhb3eyw5rjq.links.example.com/";

const LINKS: LinkView[] = [
  {
    id: LINK_ID,
    service: "api",
    slugHint: "k7qxa2",
    methods: ["GET"],
    paths: ["/api/v1"],
    rateLimitPerMinute: 100,
    createdAt: "2030-01-01T00:00:00.000Z",
    expiresAt: "2030-01-31T00:00:00.000Z",
    revokedAt: null,
    status: "active",
    accessCount: 12,
    lastAccessAt: null,
  },
];
const REVOKED = { id: LINK_ID, service: "api", slugHint: "k7qxa2", revokedAt: "2030-01-02T00:00:00.000Z" };
const LIST_HEADER = /^Service\s+Slug\s+Status\s+Expires\s+Methods\s+Paths\s+Rate\/min\s+Accesses\s+Last access\s+Id$/;
const REVOKED_LINE = "Revoked the link to api (k7qxa2…): requests in flight were cut, new ones get 404\n";

let dir: string;
let hub: FakeHubServer;

function answer(call: FakeHubCall): FakeHubAnswer | undefined {
  if (call.procedure === "links.list") return { data: LINKS };
  if (call.procedure === "links.revoke") return { data: REVOKED };
  if (call.procedure === "links.create") {
    return {
      data: {
        id: LINK_ID,
        service: "api",
        url: URL_TEXT,
        slugHint: "k7qxa2",
        methods: [],
        paths: [],
        rateLimitPerMinute: null,
        createdAt: "2030-01-01T00:00:00.000Z",
        expiresAt: "2030-01-08T00:00:00.000Z",
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

describe("connect link list", () => {
  it("prints the workspace's links as a table, and the hub's fields with --json", async () => {
    const text = await captureOutput(() => LinkList.run(["--config", dir], ROOT));
    expect(text.exitCode).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(LIST_HEADER);
    expect(lines[1]).toMatch(/^api\s+k7qxa2…\s+active\s+2030-01-31T00:00:00.000Z\s+GET\s+\/api\/v1\s+100\s+12\s+-\s+/);
    const json = await captureOutput(() => LinkList.run(["--config", dir, "--json"], ROOT));
    expect(JSON.parse(json.stdout)).toEqual(LINKS);
    expect(hub.calls.map((call) => [call.procedure, call.authorization])).toEqual([
      ["links.list", `Bearer ${TOKEN}`],
      ["links.list", `Bearer ${TOKEN}`],
    ]);
  });
});

describe("connect link revoke", () => {
  it("revokes by URL (sent as the slug the hub hashes) or by id", async () => {
    const byUrl = await captureOutput(() => LinkRevoke.run([URL_TEXT, "--config", dir], ROOT));
    expect(byUrl.exitCode).toBe(0);
    expect(byUrl.stdout).toBe(REVOKED_LINE);
    const byId = await captureOutput(() => LinkRevoke.run([LINK_ID, "--config", dir, "--json"], ROOT));
    expect(JSON.parse(byId.stdout)).toEqual(REVOKED);
    expect(hub.calls.map((call) => [call.procedure, call.input])).toEqual([
      ["links.revoke", { slug: URL_TEXT }],
      ["links.revoke", { id: LINK_ID }],
    ]);
  });

  it("says what to give for an empty argument, without asking the hub", async () => {
    const result = await captureOutput(() => LinkRevoke.run(["  ", "--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("Give the link's URL, slug or id");
    expect(result.stderr).toContain("connect link list shows the ids");
    expect(hub.calls).toEqual([]);
  });
});

describe("connect link", () => {
  it("still creates a link to SERVICE, and prints the new revoke form", async () => {
    const result = await captureOutput(() => Link.run(["api", "--expires", "7d", "--config", dir], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe(URL_TEXT);
    expect(result.stdout).toContain("Revoke it with: connect link revoke <URL>");
    expect(hub.calls.map((call) => [call.procedure, call.input])).toEqual([
      ["links.create", { service: "api", expiresInSeconds: 7 * 86_400 }],
    ]);
  });

  it("without SERVICE, names the new list form", async () => {
    const result = await captureOutput(() => Link.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("connect link list shows existing links");
  });

  it("keeps --list and --revoke working, each with a one-line hint on stderr naming the new form", async () => {
    const listed = await captureOutput(() => Link.run(["--list", "--json", "--config", dir], ROOT));
    expect(listed.exitCode).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(LINKS);
    expect(listed.stderr).toBe("Warning: connect link --list is deprecated: use connect link list\n");
    const revoked = await captureOutput(() => Link.run(["--revoke", URL_TEXT, "--config", dir], ROOT));
    expect(revoked.exitCode).toBe(0);
    expect(revoked.stdout).toBe(REVOKED_LINE);
    expect(revoked.stderr).toBe("Warning: connect link --revoke is deprecated: use connect link revoke URL|SLUG|ID\n");
    expect(hub.calls.map((call) => [call.procedure, call.input])).toEqual([
      ["links.list", undefined],
      ["links.revoke", { slug: URL_TEXT }],
    ]);
  });

  it("still refuses a SERVICE together with --list", async () => {
    const result = await captureOutput(() => Link.run(["api", "--list", "--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("Give either a SERVICE to link or --list, not both");
    expect(hub.calls).toEqual([]);
  });
});
