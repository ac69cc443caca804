import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeIdentity } from "../config/identity.js";
import { type ConfigPaths, getConfigPaths } from "../config/paths.js";
import { runDoctor } from "./run-doctor.js";

let dir: string;
let paths: ConfigPaths;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-doctor-run-"));
  paths = getConfigPaths(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run() {
  return runDoctor({
    paths,
    isInsecureAllowed: false,
    agentVersion: "0.1.0",
    uid: process.getuid?.(),
    userName: "alice",
    timeoutMs: 1000,
  });
}

describe("runDoctor", () => {
  it("fails DNS for a hub name that does not resolve, skips what needs the hub, and stays bounded", async () => {
    await writeIdentity(paths.identity, {
      // .invalid never resolves (RFC 6761): offline this fails with ENOTFOUND or the timeout, never passes.
      hubUrl: "https://hub.doctor-test.invalid",
      agentId: "00000000-0000-4000-8000-00000000000a",
      token: "a".repeat(64),
      tokenExpiresAt: "2030-01-01T00:00:00.000Z",
      workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
      label: "laptop",
    });
    const started = Date.now();
    const checks = await run();
    expect(Date.now() - started).toBeLessThan(4000);
    expect(checks.find((check) => check.name === "dns")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/^Cannot resolve hub\.doctor-test\.invalid: /),
      fix: "check the hub URL's host name and this machine's DNS",
    });
    expect(checks.filter((check) => check.status === "skip").map((check) => check.name)).toEqual([
      "tcp",
      "tls",
      "healthz",
      "clock",
      "token",
      "protocol",
    ]);
  });

  it("checks nothing on the network without an identity, and says how to register", async () => {
    const checks = await run();
    expect(checks.map((check) => [check.name, check.status])).toEqual([
      ["config", "pass"],
      ["identity", "fail"],
      ["agent", "fail"],
      ["hub", "skip"],
      ["exposures", "pass"],
      ["reaches", "pass"],
    ]);
  });

  it("never sends the token to a plain http hub beyond loopback, and fails the hub url", async () => {
    // 127.0.0.2 is not the loopback the agent allows plain http to, yet reaches this machine on Linux.
    const authorizations: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      response.writeHead(200, { "content-type": "application/json" });
      response.end('{"status":"ok"}');
    });
    const isListening = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(0, "127.0.0.2", () => resolve(true));
    });
    if (!isListening) {
      console.warn("WARNING: cannot listen on 127.0.0.2 here: the plain-http token test was skipped");
      return;
    }
    try {
      await writeIdentity(paths.identity, {
        hubUrl: `http://127.0.0.2:${(server.address() as AddressInfo).port}`,
        agentId: "00000000-0000-4000-8000-00000000000a",
        token: "a".repeat(64),
        tokenExpiresAt: "2030-01-01T00:00:00.000Z",
        workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
        label: "laptop",
      });
      const checks = await run();
      const byName = new Map(checks.map((check) => [check.name, check]));
      expect(byName.get("hub url")?.status).toBe("fail");
      expect(byName.get("healthz")?.status).toBe("pass");
      expect(byName.get("token")).toMatchObject({
        status: "skip",
        detail: "not checked: the token is never sent over plain http (see hub url)",
      });
      expect(byName.get("protocol")?.status).toBe("skip");
      expect(authorizations).toEqual([undefined]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
