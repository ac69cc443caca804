// Loaded before every e2e test file: on a failing test, print the tail of every hub and agent
// log; after the file, stop every process and server the helpers started, whatever happened.
import { afterAll, beforeEach } from "vitest";
import { closeAllServers } from "./net.ts";
import { cleanupAll, collectLogs } from "./processes.ts";

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    const logs = collectLogs();
    if (logs) console.error(`\n===== logs of the processes this test file started =====\n${logs}\n`);
  });
});

// Registered first, so with the default "stack" hook order it runs after the file's own afterAll.
afterAll(async () => {
  await cleanupAll();
  await closeAllServers();
});
