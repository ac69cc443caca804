import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFakeMcpAgent, FAKE_HUB_URL } from "../test-support/fake-mcp-agent.js";
import { findPathEscape } from "./find-path-escape.js";
import { getConnectionInfoTool } from "./get-connection-info-tool.js";

let root: string;
let project: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pc-mcp-info-"));
  project = join(root, "project");
  await mkdir(project);
  await writeFile(join(root, "secret.yml"), "services:\n  - name: stolen\n    port: 1\n    env: SECRET\n");
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const PROJECT_TEXT = [
  "services:",
  "  - name: prod-db",
  "    port: 5432",
  "    env: DATABASE_URL",
  "    url: postgresql://app@{host}:{port}/app",
  "  - name: cache",
  "    port: 6379",
  "    env: REDIS_ADDR",
  "  - name: api",
  "    from: partner",
  "    port: 8080",
  "",
].join("\n");

describe("get_connection_info", () => {
  it("returns the filled-in variables and which services are reached on the file's port now", async () => {
    await writeFile(join(project, "pconnect.yml"), PROJECT_TEXT);
    const fake = createFakeMcpAgent();
    fake.reaches.push(
      { service: "prod-db", host: "127.0.0.1", port: 5432 },
      { service: "cache", host: "127.0.0.1", port: 16379 },
    );
    const answer = await getConnectionInfoTool.run({}, fake.context({ workingDir: project }));
    expect(answer.structured).toEqual({
      file: "pconnect.yml",
      variables: [
        { service: "prod-db", name: "DATABASE_URL", value: "postgresql://app@127.0.0.1:5432/app" },
        { service: "cache", name: "REDIS_ADDR", value: "127.0.0.1:6379" },
      ],
      services: [
        { name: "prod-db", port: 5432, isReached: true, reachedPort: 5432 },
        { name: "cache", port: 6379, isReached: false, reachedPort: 16379 },
        { name: "api", from: "partner", port: 8080, isReached: false, reachedPort: null },
      ],
    });
    expect(answer.text).toContain("DATABASE_URL=postgresql://app@127.0.0.1:5432/app");
    expect(answer.text).toContain("api: not reached; call reach_service with port 8080");
  });

  it("refuses a file naming another hub than the agent's", async () => {
    await writeFile(join(project, "pconnect.yml"), `hub: https://elsewhere.example\n${PROJECT_TEXT}`);
    await expect(getConnectionInfoTool.run({}, createFakeMcpAgent().context({ workingDir: project }))).rejects.toThrow(
      /names the hub https:\/\/elsewhere\.example, but this agent's hub is/,
    );
    await writeFile(join(project, "pconnect.yml"), `hub: ${FAKE_HUB_URL}/\n${PROJECT_TEXT}`);
    await expect(getConnectionInfoTool.run({}, createFakeMcpAgent().context({ workingDir: project }))).resolves.toBeDefined();
  });

  it("says where it looked when there is no pconnect.yml", async () => {
    await expect(getConnectionInfoTool.run({}, createFakeMcpAgent().context({ workingDir: project }))).rejects.toThrow(
      `No pconnect.yml in ${project}: start connect mcp in the project's directory, or pass file`,
    );
  });

  it("refuses files outside the working directory: ../, absolute paths and symbolic links out of it", async () => {
    await symlink(join(root, "secret.yml"), join(project, "innocent.yml"));
    await mkdir(join(project, "sub"));
    await writeFile(join(project, "sub", "other.yml"), PROJECT_TEXT);
    expect(await findPathEscape(project, "../secret.yml")).toMatch(/^\.\.\/secret\.yml is outside the working directory/);
    expect(await findPathEscape(project, join(root, "secret.yml"))).toMatch(/is outside the working directory/);
    expect(await findPathEscape(project, "/etc/passwd")).toMatch(/is outside the working directory/);
    expect(await findPathEscape(project, "innocent.yml")).toMatch(/^innocent\.yml leads outside .* through a symbolic link/);
    expect(await findPathEscape(project, ".")).toMatch(/is outside the working directory/);
    expect(await findPathEscape(project, "sub/../sub/other.yml")).toBeUndefined();
    expect(await findPathEscape(project, "pconnect.yml")).toBeUndefined();
    const context = createFakeMcpAgent().context({ workingDir: project });
    expect(await getConnectionInfoTool.findRefusal?.({ file: "../secret.yml" }, context)).toBeDefined();
    expect(await getConnectionInfoTool.findRefusal?.({}, context)).toBeUndefined();
  });
});
