// `connect doctor` against the real hub and a real detached agent: all checks pass (exit 0) when
// everything is up; with the agent stopped its own hello on /relay is welcomed by the real hub
// (the protocol check) while the agent check fails; with the hub gone it fails fast, in seconds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEchoServer, type TestServer } from "../support/net.ts";
import {
  type Agent,
  createWorkspace,
  expectSuccess,
  type Hub,
  parseJsonOutput,
  startAgent,
  startHub,
} from "../support/processes.ts";

interface DoctorCheckJson {
  name: string;
  status: "pass" | "warn" | "fail" | "skip";
  detail: string;
  fix?: string;
}

let hub: Hub;
let agent: Agent;
let echo: TestServer;

beforeAll(async () => {
  hub = await startHub();
  const acme = await createWorkspace(hub, "acme", "ops@acme.test");
  agent = await startAgent({ hub, apiKey: acme.apiKey, label: "laptop" });
  echo = await startEchoServer();
  expectSuccess(await agent.run(["expose", echo.address, "--name", "echo"]));
  expectSuccess(await agent.run(["reach", "echo"]));
});

afterAll(async () => {
  await agent?.down();
  await hub?.stop();
});

function statusOf(checks: DoctorCheckJson[], name: string): string | undefined {
  return checks.find((check) => check.name === name)?.status;
}

describe("connect doctor against the real hub", () => {
  it("passes every check and exits 0 while agent, hub, target and reach port are up", async () => {
    const result = await agent.run(["doctor"]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe("All 13 checks passed.");
    expect(lines.filter((line) => line.startsWith("[")).every((line) => line.startsWith("[ ok ]"))).toBe(true);
  });

  it("with the agent stopped: fails the agent check, and the real hub welcomes doctor's own hello", async () => {
    expectSuccess(await agent.down());
    const result = await agent.run(["doctor", "--json"]);
    expect(result.code).toBe(1);
    const checks = parseJsonOutput<DoctorCheckJson[]>(result);
    expect(checks.find((check) => check.name === "agent")).toMatchObject({
      status: "fail",
      fix: "start it: connect up (or connect up --detach)",
    });
    expect(checks.find((check) => check.name === "protocol")).toMatchObject({
      status: "pass",
      detail: expect.stringMatching(/agreed on protocol 1$/),
    });
    expect(statusOf(checks, "token")).toBe("pass");
    expect(statusOf(checks, "expose echo")).toBe("pass");
    expect(statusOf(checks, "reach echo")).toBe("skip");
  });

  it("with the hub gone: fails the TCP check with its fix, skips what needs the hub, within seconds", async () => {
    await hub.stop();
    const result = await agent.run(["doctor", "--json"]);
    expect(result.code).toBe(1);
    // Node's start-up is in there too; the checks themselves are bounded at 2.5 s each.
    expect(result.ms).toBeLessThan(8000);
    const checks = parseJsonOutput<DoctorCheckJson[]>(result);
    expect(checks.find((check) => check.name === "tcp")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("ECONNREFUSED"),
      fix: "check that the hub runs (connect-hub start) and that no firewall blocks the port",
    });
    for (const name of ["healthz", "clock", "token", "protocol"]) expect(statusOf(checks, name)).toBe("skip");
  });
});
