import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectError } from "../errors.js";
import { findProjectFile, MAX_PROJECT_FILE_BYTES, PROJECT_FILE_NAME, parseProjectText, readProjectFile } from "./index.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-project-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The message parseProjectText refuses the text with; fails the test when it accepts it. */
function refusal(text: string): string {
  try {
    parseProjectText("pconnect.yml", text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe("INVALID_INPUT");
    return (error as ConnectError).message;
  }
  throw new Error(`accepted:\n${text}`);
}

describe("a good project file", () => {
  it("reads every field, from a file on disk", async () => {
    const path = join(dir, PROJECT_FILE_NAME);
    await writeFile(
      path,
      [
        "# the services this project needs",
        "hub: https://hub.example.com",
        "services:",
        "  - name: prod-db",
        "    port: 5432",
        "    env: DATABASE_URL",
        '    url: "postgresql://app@{host}:{port}/app"',
        "  - name: cache",
        "    port: 6379",
        "    from: partner-co",
        "    env: REDIS_ADDR",
        "    protocol: redis",
        "  - { name: api, port: 8080 }",
        "",
      ].join("\n"),
    );
    expect(findProjectFile(dir)).toBe(path);
    await expect(readProjectFile(path)).resolves.toEqual({
      path,
      hub: "https://hub.example.com",
      services: [
        { name: "prod-db", port: 5432, env: "DATABASE_URL", url: "postgresql://app@{host}:{port}/app" },
        { name: "cache", port: 6379, from: "partner-co", env: "REDIS_ADDR", protocol: "redis" },
        { name: "api", port: 8080 },
      ],
    });
  });

  it("finds no file where there is none, and the one --file names", async () => {
    const empty = await mkdtemp(join(dir, "empty-"));
    expect(findProjectFile(empty)).toBeUndefined();
    await writeFile(join(empty, "other.yml"), "services: [{ name: a, port: 1 }]\n");
    expect(findProjectFile(empty, "other.yml")).toBe(join(empty, "other.yml"));
  });
});

describe("bad input, reported at its line and column", () => {
  it("a port out of range points at the value", () => {
    expect(refusal("services:\n  - name: prod-db\n    port: 99999\n")).toBe(
      "pconnect.yml:3:11: services[0].port must be a whole number from 1 to 65535",
    );
    expect(refusal("services:\n  - name: prod-db\n    port: 0\n")).toMatch(/^pconnect\.yml:3:11: services\[0\]\.port must be/);
    expect(refusal("services:\n  - name: prod-db\n    port: 54.5\n")).toMatch(/^pconnect\.yml:3:11: /);
    // A string is not a port, even one of digits: YAML's types are what the file says.
    expect(refusal('services:\n  - name: prod-db\n    port: "5432"\n')).toMatch(/^pconnect\.yml:3:11: /);
  });

  it("a bad service name, env variable, from or protocol", () => {
    expect(refusal("services:\n  - name: Prod_DB\n    port: 1\n")).toMatch(
      /^pconnect\.yml:2:11: services\[0\]\.name must be 1-63 lowercase letters/,
    );
    expect(refusal("services:\n  - name: a\n    port: 1\n    env: database-url\n")).toMatch(
      /^pconnect\.yml:4:10: services\[0\]\.env must be an environment variable name/,
    );
    expect(refusal("services:\n  - name: a\n    port: 1\n    env: 1DB\n")).toMatch(/^pconnect\.yml:4:10: /);
    expect(refusal("services:\n  - name: a\n    port: 1\n    from: 'Other Co'\n")).toMatch(
      /^pconnect\.yml:4:11: services\[0\]\.from must be a workspace slug/,
    );
    expect(refusal("services:\n  - name: a\n    port: 1\n    protocol: ftp\n")).toBe(
      "pconnect.yml:4:15: services[0].protocol must be one of postgres, mysql, redis, http, tls, tcp",
    );
  });

  it("a missing name or port points at the service that lacks it", () => {
    expect(refusal("services:\n  - port: 1\n")).toBe(
      "pconnect.yml:2:5: services[0] has no name: every service needs a name and a port",
    );
    expect(refusal("services:\n  - name: a\n    port: 1\n  - name: b\n")).toBe(
      "pconnect.yml:4:5: services[1] has no port: every service needs a name and a port",
    );
    expect(refusal("hub: https://hub.example.com\n")).toMatch(/^pconnect\.yml:1:1: the file has no services: /);
    expect(refusal("services: []\n")).toBe("pconnect.yml:1:11: services lists no service: add one with a name and a port");
  });

  it("an unknown key names the key, its line and the known keys", () => {
    expect(refusal("services:\n  - name: a\n    port: 1\n    prot: redis\n")).toBe(
      'pconnect.yml:4:5: services[0] has an unknown key "prot": the known keys are name, port, from, env, url, protocol',
    );
    expect(refusal("services:\n  - name: a\n    port: 1\napi_key: pc_secret\n")).toBe(
      'pconnect.yml:4:1: the file has an unknown key "api_key": the known keys are hub, services',
    );
  });

  it("duplicate names, ports and variables point at the second one", () => {
    expect(refusal("services:\n  - name: a\n    port: 1\n  - name: b\n    port: 1\n")).toBe(
      "pconnect.yml:5:11: services[1].port repeats the port of services[0]: each service needs its own local port",
    );
    expect(refusal("services:\n  - name: a\n    port: 1\n  - name: a\n    port: 2\n")).toBe(
      "pconnect.yml:4:11: services[1].name repeats services[0]",
    );
    expect(refusal("services:\n  - { name: a, port: 1, env: X }\n  - { name: b, port: 2, env: X }\n")).toBe(
      "pconnect.yml:3:30: services[1].env repeats the variable of services[0]: one variable can hold one service",
    );
    // The same name from another workspace is another service.
    expect(
      parseProjectText("p.yml", "services:\n  - { name: a, port: 1 }\n  - { name: a, port: 2, from: b }\n").services,
    ).toHaveLength(2);
  });

  it("url templates know {port} and {host} only, and carry nothing a shell or dotenv would read", () => {
    const withUrl = (url: string) => refusal(`services:\n  - name: a\n    port: 1\n    env: X\n    url: ${url}\n`);
    expect(withUrl('"postgresql://{user}@{host}:{port}/db"')).toBe(
      "pconnect.yml:5:10: services[0].url has an unknown placeholder {user}: only {port} and {host} are filled in",
    );
    expect(withUrl('"http://{host}:{port}/$(whoami)/{env.HOME}"')).toMatch(/unknown placeholder \{env\.HOME\}/);
    expect(withUrl('"http://{host:{port}"')).toMatch(/^pconnect\.yml:5:10: services\[0\]\.url has an unmatched \{ or \}/);
    expect(withUrl('"http://{host}:{port}/a\'b"')).toMatch(/^pconnect\.yml:5:10: services\[0\]\.url must not contain "'"/);
    expect(withUrl('"http://{host}:{port}/a b"')).toMatch(/must not contain " "/);
    expect(withUrl('"http://{host}:{port}/a\\nb"')).toMatch(/must not contain "\\n"/);
    expect(refusal("services:\n  - name: a\n    port: 1\n    url: http://{host}:{port}\n")).toBe(
      "pconnect.yml:4:10: services[0].url needs env: the variable the filled-in url is written to",
    );
  });

  it("YAML syntax errors and a duplicated key report where they are", () => {
    expect(refusal("services:\n  - name: a\n    port: 1\n    port: 2\n")).toBe(
      "pconnect.yml:4:5: not valid YAML: Map keys must be unique",
    );
    expect(refusal("services:\n  - name: a\n   port: 1\n")).toMatch(/^pconnect\.yml:3:\d+: not valid YAML: /);
    expect(refusal("- a\n- b\n")).toMatch(/^pconnect\.yml:1:1: must be a mapping with a services: list/);
    expect(refusal("")).toMatch(/^pconnect\.yml:1:1: must be a mapping/);
  });

  it("an alias bomb is stopped, not expanded", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [index, name] of ["b", "c", "d", "e", "f"].entries()) {
      const previous = index === 0 ? "a" : (["b", "c", "d", "e"][index - 1] ?? "a");
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
    }
    levels.push("services: [*f]");
    const started = Date.now();
    expect(refusal(levels.join("\n"))).toMatch(/^pconnect\.yml:1:1: cannot be read: .*at most 50 alias expansions/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a file over 64 KiB is refused without being parsed", async () => {
    const path = join(dir, "huge.yml");
    await writeFile(path, `services:\n  - name: a\n    port: 1\n# ${"x".repeat(MAX_PROJECT_FILE_BYTES)}\n`);
    await expect(readProjectFile(path)).rejects.toThrow(`${path}:1:1: the file is larger than 64 KiB`);
  });

  it("a file that is not there says so with its path", async () => {
    await expect(readProjectFile(join(dir, "missing.yml"))).rejects.toThrow(
      /missing\.yml:1:1: cannot read the project file \(no such file\)/,
    );
  });
});
