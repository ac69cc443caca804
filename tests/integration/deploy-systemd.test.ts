// deploy/systemd: the hub's unit passes systemd-analyze verify, and its example environment
// file names exactly the variables the hub reads (apps/hub/src/config/env.ts).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "../..");
const UNIT = join(REPO, "deploy/systemd/connect-hub.service");
const ENV_EXAMPLE = join(REPO, "deploy/systemd/connect-hub.env.example");
const ANALYZE = "/usr/bin/systemd-analyze";
if (!existsSync(ANALYZE))
  console.warn(`Skipping systemd-analyze verify of deploy/systemd/connect-hub.service: ${ANALYZE} is not installed`);
const INSTALLED_BIN = "/usr/local/bin/connect-hub";

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

describe("deploy/systemd/connect-hub.service", () => {
  it("runs connect-hub start as private-connect with its data in /var/lib/private-connect, sandboxed", async () => {
    const unit = await readFile(UNIT, "utf8");
    const settings = unit.split("\n").filter((line) => /^[A-Za-z]+=/.test(line));
    expect(settings).toEqual(
      expect.arrayContaining([
        `ExecStart=${INSTALLED_BIN} start --host 127.0.0.1 --port 3001 --data /var/lib/private-connect`,
        "User=private-connect",
        "StateDirectory=private-connect",
        "EnvironmentFile=-/etc/private-connect/hub.env",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/private-connect",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
      ]),
    );
    // Would break V8's JIT and PGlite's WebAssembly.
    expect(settings.some((line) => line.startsWith("MemoryDenyWriteExecute="))).toBe(false);
  });

  it.skipIf(!existsSync(ANALYZE))("passes systemd-analyze verify without a word", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pc-hub-unit-"));
    roots.push(dir);
    // verify checks that ExecStart's program exists: this repository's connect-hub stands in for
    // the installed one (the same script npm install --global links to).
    const bin = await realpath(join(REPO, "apps/hub/bin/connect-hub.js"));
    const unit = (await readFile(UNIT, "utf8")).replace(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${bin} `);
    expect(unit).toContain(`ExecStart=${bin} start `);
    const path = join(dir, "connect-hub.service");
    await writeFile(path, unit);
    const { stderr } = await promisify(execFile)(ANALYZE, ["verify", path]);
    expect(stderr).toBe("");
  });

  if (!existsSync(ANALYZE)) console.warn(`Skipping systemd-analyze verify of connect-hub.service: ${ANALYZE} is not installed`);
});

describe("deploy/systemd/connect-hub.env.example", () => {
  it("lists every variable of the hub's environment, and no other", async () => {
    const source = await readFile(join(REPO, "apps/hub/src/config/env.ts"), "utf8");
    const schema = source.slice(source.indexOf("const hubEnvSchema = z.object({"), source.indexOf("export type HubEnv"));
    const read = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((match) => match[1]);
    const listed = [...(await readFile(ENV_EXAMPLE, "utf8")).matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]);
    expect(read.length).toBeGreaterThan(20);
    expect([...listed].sort()).toEqual([...read].sort());
  });
});
