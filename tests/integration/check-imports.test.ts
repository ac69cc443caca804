// scripts/check-imports.mjs, the import-boundary half of `npm run lint`, run as lint runs it (a
// child process, judged by exit code and output) on small repositories written for each case.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "../../scripts/check-imports.mjs");
const run = promisify(execFile);

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

/** A repository holding these files (path -> lines); the script checks it. */
async function checkTree(files: Record<string, string[]>): Promise<{ code: number; output: string }> {
  const root = await mkdtemp(join(tmpdir(), "pc-check-imports-"));
  roots.push(root);
  for (const [path, lines] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), `${lines.join("\n")}\n`);
  }
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, root]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

/** What the real repository does, each allowed: type-only API imports, server-side runtime ones, exports-map subpaths. */
const CLEAN_TREE: Record<string, string[]> = {
  "apps/agent/src/client/api.ts": ['import type { AppRouter } from "@private-connect/api";', "export type Router = AppRouter;"],
  "apps/agent/src/tunnel/frames.ts": ['import { encodeFrame } from "@private-connect/protocol";', "export { encodeFrame };"],
  "apps/web/src/lib/api-client.ts": ['import type { AppRouter } from "@private-connect/api";', "export type R = AppRouter;"],
  "apps/web/src/components/providers.tsx": [
    '"use client";',
    'import { createApiClient } from "@/lib/api-client";',
    "export const client = createApiClient;",
  ],
  // Server-only dashboard code (never imported by a browser file) may load the API.
  "apps/web/src/lib/server/hub-api.ts": ['import { appRouter } from "@private-connect/api";', "export { appRouter };"],
  "apps/hub/src/hub.ts": ['import { appRouter } from "@private-connect/api";', 'import { isFrame } from "./relay/frames.js";'],
  "tests/e2e/links.test.ts": [
    'import { startSmtpInbox } from "@private-connect/api/test-support/smtp-inbox";',
    'import { waitFor } from "../support/net.ts";',
  ],
  // Skipped like biome skips them: built output and dependencies.
  "apps/agent/dist/index.js": ['import { appRouter } from "@private-connect/api";'],
  "node_modules/x/index.js": ['import y from "../../packages/api/src/index.ts";'],
};

describe("check-imports", () => {
  it("passes a repository that keeps its import boundaries", async () => {
    const { code, output } = await checkTree(CLEAN_TREE);
    expect(output).toContain("import boundaries hold");
    expect(code).toBe(0);
  });

  it("fails a runtime import of the API or the database from the agent, naming file, line and rule", async () => {
    const { code, output } = await checkTree({
      ...CLEAN_TREE,
      "apps/agent/src/commands/status.ts": [
        'import { Command } from "@oclif/core";',
        "",
        'import { appRouter } from "@private-connect/api";',
      ],
      // An inline `type` keeps the import at run time under verbatimModuleSyntax.
      "apps/agent/src/sdk.ts": ['import { type AppRouter } from "@private-connect/api";'],
      "apps/agent/src/daemon/store.ts": ["// loads the database client", 'const db = await import("@private-connect/db");'],
    });
    expect(code).toBe(1);
    expect(output).toMatch(/^apps\/agent\/src\/commands\/status\.ts:3: client-imports-server: .*the agent ships no server code/m);
    expect(output).toMatch(/^apps\/agent\/src\/sdk\.ts:1: client-imports-server: /m);
    expect(output).toMatch(/^apps\/agent\/src\/daemon\/store\.ts:2: client-imports-server: "@private-connect\/db"/m);
    expect(output).toContain("3 import boundary violation(s)");
  });

  it("fails a runtime import of the API from dashboard code that reaches the browser, directly or through a helper", async () => {
    const { code, output } = await checkTree({
      ...CLEAN_TREE,
      "apps/web/src/app/device/device-form.tsx": [
        '"use client";',
        'import { useState } from "react";',
        'import { describeCode } from "../../lib/describe-code";',
        'import { APP_ERROR_CODES } from "@private-connect/api";',
      ],
      // Not "use client" itself, but the form above imports it, so Next bundles it for the browser.
      "apps/web/src/lib/describe-code.ts": [
        'import { isAppError } from "@private-connect/api";',
        "export const describeCode = isAppError;",
      ],
      "apps/web/src/components/table.tsx": ['export { SERVICE_NOT_FOUND } from "@private-connect/api";'],
    });
    expect(code).toBe(1);
    expect(output).toMatch(/^apps\/web\/src\/app\/device\/device-form\.tsx:4: client-imports-server: .*"use client"/m);
    expect(output).toMatch(
      /^apps\/web\/src\/lib\/describe-code\.ts:1: client-imports-server: .*apps\/web\/src\/app\/device\/device-form\.tsx imports it/m,
    );
    expect(output).toMatch(/^apps\/web\/src\/components\/table\.tsx:1: client-imports-server: /m);
    expect(output).not.toContain("hub-api.ts");
  });

  it("fails an import that reaches into another package's src/, by path or by name", async () => {
    const { code, output } = await checkTree({
      ...CLEAN_TREE,
      "tests/e2e/dashboard.test.ts": [
        'import { afterAll } from "vitest";',
        'import { startSmtpInbox } from "../../packages/api/src/test-support/smtp-inbox.ts";',
      ],
      "apps/hub/src/links/proxy.ts": ['import type { Principal } from "@private-connect/api/src/deps.js";'],
      "packages/api/src/db.ts": ['import { withWorkspace } from "../../db/src/database.js";'],
    });
    expect(code).toBe(1);
    expect(output).toMatch(/^tests\/e2e\/dashboard\.test\.ts:2: reaches-into-src: .*packages\/api\/src/m);
    // Type-only or not: the src/ layout of another package is not its interface.
    expect(output).toMatch(/^apps\/hub\/src\/links\/proxy\.ts:1: reaches-into-src: .*@private-connect\/api/m);
    expect(output).toMatch(/^packages\/api\/src\/db\.ts:1: reaches-into-src: .*packages\/db\/src/m);
    expect(output).toContain("3 import boundary violation(s)");
  });
});
