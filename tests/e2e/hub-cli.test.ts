// `connect-hub` as a newcomer meets it (issue 18): help that works for every command, one clear
// line for every mistake (never a stack trace), no silent second database when run from the wrong
// directory, no second workspace with a taken slug, and a malformed key told apart from a wrong one.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../support/net.ts";
import {
  type CommandResult,
  connect,
  createWorkspace,
  errorLines,
  expectSuccess,
  type Hub,
  makeTempDir,
  parseJsonOutput,
  REPO_ROOT,
  runHubCli,
  runHubCommand,
  startHub,
} from "../support/processes.ts";

function describeRun(result: CommandResult): string {
  return `\`${result.command}\` exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

/** Exit `code`, exactly one line on stderr starting "Error: ", no stack frame; returns the line. */
function expectOneLineError(result: CommandResult, code: number): string {
  expect(result.timedOut, describeRun(result)).toBe(false);
  expect(result.code, describeRun(result)).toBe(code);
  const lines = errorLines(result);
  expect(lines, describeRun(result)).toHaveLength(1);
  expect(lines[0], describeRun(result)).toMatch(/^Error: /);
  expect(result.stderr, describeRun(result)).not.toMatch(/^\s+at /m);
  return lines[0] ?? "";
}

describe("connect-hub help", () => {
  it("prints the usage of whatever command is asked about, and exits 0", { timeout: 60_000 }, async () => {
    const cases: Array<[string[], string]> = [
      [["--help"], "connect-hub start [--port 3001]"],
      [["-h"], "connect-hub workspace create NAME"],
      [["help"], "connect-hub agent revoke LABEL|ID"],
      [[], "connect-hub agent list --workspace"],
      [["start", "--help"], "Usage: connect-hub start [--port 3001]"],
      [["start", "--port", "9", "-h"], "Usage: connect-hub start [--port 3001]"],
      [["workspace", "create", "--help"], "Usage: connect-hub workspace create NAME --owner EMAIL"],
      [["workspace", "create", "acme", "--bogus", "-h"], "Usage: connect-hub workspace create NAME --owner EMAIL"],
      [["agent", "list", "-h"], "Usage: connect-hub agent list --workspace SLUG|ID"],
      [["agent", "revoke", "--help"], "Usage: connect-hub agent revoke LABEL|ID"],
      [["help", "workspace", "create"], "Usage: connect-hub workspace create NAME --owner EMAIL"],
      [["help", "start"], "Usage: connect-hub start"],
      [["agent", "--help"], "connect-hub agent list --workspace SLUG|ID"],
    ];
    for (const [args, expected] of cases) {
      const result = await runHubCommand(args);
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.stdout, describeRun(result)).toContain(expected);
      expect(result.stderr, describeRun(result)).toBe("");
    }
    // Each command's own help, not the general one.
    const create = await runHubCommand(["workspace", "create", "--help"]);
    expect(create.stdout).toContain("--init");
    expect(create.stdout).not.toContain("connect-hub start");
  });

  it("prints its version, the one in the hub's package.json", { timeout: 30_000 }, async () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "apps", "hub", "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-v", "version"]) {
      const result = await runHubCommand([flag]);
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.stdout).toBe(`connect-hub ${manifest.version}\n`);
    }
  });

  it("answers an unknown command or flag, a missing or bad value with one line and exit 2", { timeout: 60_000 }, async () => {
    const cases: Array<[string[], string]> = [
      [["--bogus"], "Error: Unknown option --bogus: run connect-hub --help"],
      [["serve"], 'Error: Unknown command "serve": run connect-hub --help'],
      [["workspace"], 'Error: Missing command after "workspace" (workspace create): run connect-hub workspace --help'],
      [["workspace", "delete", "acme"], 'Error: Unknown command "workspace delete": run connect-hub workspace --help'],
      [["help", "nope"], 'Error: Unknown command "nope": run connect-hub --help'],
      [["start", "--bogus"], "Error: Unknown option --bogus: run connect-hub start --help"],
      [["start", "--port"], "Error: Option --port needs a value: run connect-hub start --help"],
      [["start", "--port", "abc"], 'Error: Invalid --port "abc": use a number from 0 to 65535'],
      [["start", "now"], 'Error: Unexpected argument "now": connect-hub start takes no arguments; run connect-hub start --help'],
      [
        ["workspace", "create", "acme", "--owner"],
        "Error: Option --owner needs a value: run connect-hub workspace create --help",
      ],
      [
        ["workspace", "create", "--owner", "ops@acme.test"],
        "Error: Missing workspace name: connect-hub workspace create NAME --owner EMAIL",
      ],
      [["agent", "list", "--json=yes"], "Error: Option --json takes no value: run connect-hub agent list --help"],
      [["agent", "revoke", "--workspace", "acme"], "Error: Missing agent: connect-hub agent revoke LABEL|ID --workspace SLUG|ID"],
    ];
    for (const [args, expected] of cases) {
      expect(expectOneLineError(await runHubCommand(args), 2)).toBe(expected);
    }
  });
});

describe("connect-hub start, refused", () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await startHub();
  });

  it("says once, without a stack, that another hub holds the data directory", { timeout: 60_000 }, async () => {
    const line = expectOneLineError(await runHubCommand(["start", "--port", "0", "--data", hub.dataDir]), 1);
    expect(line).toBe(
      `Error: Another hub (pid ${hub.process.pid}) is using ${hub.dataDir}: stop it first, or start this one with another --data`,
    );
  });

  it("names the port in use and the flag to change it", { timeout: 90_000 }, async () => {
    const dataDir = join(await makeTempDir("hub-cli-port"), "data");
    const line = expectOneLineError(
      await runHubCommand(["start", "--port", String(hub.port), "--data", dataDir], { timeoutMs: 60_000 }),
      1,
    );
    expect(line).toBe(`Error: Port ${hub.port} is already in use on 127.0.0.1: stop what uses it, or choose another with --port`);
  });

  it("names DATABASE_URL's host when nothing answers there, not its password", { timeout: 60_000 }, async () => {
    const port = await findFreePort();
    const dataDir = join(await makeTempDir("hub-cli-db"), "data");
    const result = await runHubCommand(["start", "--port", "0", "--data", dataDir], {
      env: { DATABASE_URL: `postgresql://hub:not-this-one@127.0.0.1:${port}/pc` },
    });
    const line = expectOneLineError(result, 1);
    expect(line).toBe(
      `Error: Cannot reach the PostgreSQL of DATABASE_URL (127.0.0.1:${port}/pc): check that it is running there and that DATABASE_URL is right`,
    );
    expect(result.stderr + result.stdout).not.toContain("not-this-one");
  });

  it("says which environment variable is wrong", { timeout: 30_000 }, async () => {
    const dataDir = join(await makeTempDir("hub-cli-env"), "data");
    const line = expectOneLineError(
      await runHubCommand(["start", "--port", "0", "--data", dataDir], { env: { LOG_LEVEL: "loud" } }),
      1,
    );
    expect(line).toMatch(/^Error: Invalid LOG_LEVEL: /);
  });
});

describe("connect-hub workspace create and agent list|revoke, away from the hub's data", () => {
  it("refuses a directory with no hub data, naming where it looked, and makes one only with --init", {
    timeout: 120_000,
  }, async () => {
    const cwd = await makeTempDir("hub-cli-elsewhere");
    const looked = join(cwd, ".data");
    const refused = expectOneLineError(
      await runHubCommand(["workspace", "create", "acme", "--owner", "ops@acme.test"], { cwd }),
      1,
    );
    expect(refused).toBe(
      `Error: No hub data in ${looked}: pass --data DIR (the directory connect-hub start --data uses), or set DATABASE_URL to the hub's PostgreSQL; to start a new hub's data there, add --init`,
    );
    for (const args of [
      ["agent", "list", "--workspace", "acme"],
      ["agent", "revoke", "laptop", "--workspace", "acme"],
    ]) {
      const line = expectOneLineError(await runHubCommand(args, { cwd }), 1);
      expect(line).toBe(
        `Error: No hub data in ${looked}: pass --data DIR (the directory connect-hub start --data uses), or set DATABASE_URL to the hub's PostgreSQL`,
      );
    }
    // Nothing was left behind to be mistaken for the hub's data next time.
    expect(existsSync(looked)).toBe(false);

    // --init: a new hub's data, as before; the other commands find it from then on.
    const created = parseJsonOutput<{ workspace: { slug: string }; apiKey: string }>(
      expectSuccess(
        await runHubCommand(["workspace", "create", "acme", "--owner", "ops@acme.test", "--init", "--json"], {
          cwd,
          timeoutMs: 60_000,
        }),
      ),
    );
    expect(created.workspace.slug).toBe("acme");
    const listed = parseJsonOutput<{ workspace: { slug: string }; agents: unknown[] }>(
      expectSuccess(await runHubCommand(["agent", "list", "--workspace", "acme", "--json"], { cwd, timeoutMs: 60_000 })),
    );
    expect(listed).toEqual({ workspace: expect.objectContaining({ slug: "acme" }), agents: [] });

    // And a hub started on that data accepts the key it printed.
    const hub = await startHub({ dataDir: looked });
    const answer = await fetch(`${hub.url}/trpc/services.list`, { headers: { authorization: `Bearer ${created.apiKey}` } });
    expect(answer.status, await answer.clone().text()).toBe(200);
    await hub.stop();
  });
});

describe("workspace names and malformed keys, on a running hub", () => {
  let hub: Hub;
  let apiKey: string;
  beforeAll(async () => {
    hub = await startHub();
    ({ apiKey } = await createWorkspace(hub, "acme", "ops@acme.test"));
  });

  it("refuses a second workspace whose slug is taken, and prints the slug of a new one", { timeout: 60_000 }, async () => {
    for (const name of ["acme", "ACME!"]) {
      const line = expectOneLineError(await runHubCli(hub, ["workspace", "create", name, "--owner", "dev@acme.test"]), 1);
      expect(line).toBe(
        `Error: A workspace with the slug "acme" already exists (from the name "${name}"): choose another name, or use that workspace (connect-hub agent list --workspace acme)`,
      );
    }
    const created = expectSuccess(await runHubCli(hub, ["workspace", "create", "Globex Corp", "--owner", "ops@globex.test"]));
    expect(created.stdout).toMatch(
      /^Workspace Globex Corp created: slug globex-corp \(--workspace globex-corp in other commands\), id [0-9a-f-]{36}\.$/m,
    );
    const json = parseJsonOutput<{ workspace: { slug: string } }>(
      expectSuccess(await runHubCli(hub, ["workspace", "create", "Initech", "--owner", "ops@initech.test", "--json"])),
    );
    expect(json.workspace.slug).toBe("initech");
  });

  it("tells a malformed key or token apart from a wrong one, in the hub's answer and in connect up", {
    timeout: 90_000,
  }, async () => {
    const trpcMessage = async (bearer: string) => {
      const response = await fetch(`${hub.url}/trpc/services.list`, { headers: { authorization: `Bearer ${bearer}` } });
      expect(response.status).toBe(401);
      return ((await response.json()) as { error: { message: string } }).error.message;
    };
    expect(await trpcMessage("pc_bogus")).toMatch(/^Malformed API key: a key is pc_ followed by 32 letters and digits/);
    expect(await trpcMessage("bogus")).toMatch(/^Malformed credentials: pass a workspace API key/);
    const valid = await fetch(`${hub.url}/trpc/services.list`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(valid.status, "the workspace's own key works, so the refusals are about the keys").toBe(200);
    // Well-formed but unknown: the one answer for all, which tells a prober nothing.
    const unknown = `pc_${"A".repeat(32)}`;
    expect(await trpcMessage(unknown)).toBe("Invalid credentials: check your API key or run connect up again");

    const configDir = join(await makeTempDir("hub-cli-malformed"), "config");
    const malformed = await connect(["up", "--hub", hub.url, "--api-key", "pc_bogus", "--label", "x", "--detach"], { configDir });
    expect(malformed.code, describeRun(malformed)).not.toBe(0);
    expect(errorLines(malformed).join("\n"), describeRun(malformed)).toContain("Malformed API key: a key is pc_ followed by 32");
    const wrong = await connect(["up", "--hub", hub.url, "--api-key", unknown, "--label", "x", "--detach"], { configDir });
    expect(wrong.code, describeRun(wrong)).not.toBe(0);
    expect(errorLines(wrong).join("\n"), describeRun(wrong)).toContain("Invalid credentials");
    const token = await connect(["up", "--hub", hub.url, "--token", "not-a-token", "--detach"], { configDir });
    expect(token.code, describeRun(token)).not.toBe(0);
    expect(errorLines(token).join("\n"), describeRun(token)).toContain("Malformed credentials");
  });
});
