import { defineConfig } from "vitest/config";

// Two projects: fast unit tests next to the code, and end-to-end tests that start the real
// built hub and agents as child processes. The machine has 2 cores, so e2e files run one at a
// time and only after the unit group has finished (groupOrder), never competing with it.
export default defineConfig({
  test: {
    // Generous enough for a whole e2e file's teardown (agents, hub, a throwaway PostgreSQL).
    teardownTimeout: 60_000,
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts", "apps/*/src/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          environment: "node",
          testTimeout: 15_000,
          hookTimeout: 30_000,
          // The database tests run on PGlite and on the PostgreSQL the global setup picks (or
          // starts): the same choice as the e2e project, and the same loud warning without one.
          globalSetup: ["tests/support/global-setup.ts"],
          setupFiles: ["tests/support/setup-unit.ts"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "e2e",
          // tests/integration: in-process relay tests over real sockets; same budget, same pacing.
          include: ["tests/e2e/**/*.test.ts", "tests/integration/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          // beforeAll starts a hub and agents; afterAll stops them: both spawn processes.
          hookTimeout: 90_000,
          fileParallelism: false,
          maxWorkers: 1,
          globalSetup: ["tests/support/global-setup.ts"],
          setupFiles: ["tests/support/setup-e2e.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
