// PostgreSQL stopped and started under a running hub (a cluster this test starts itself with
// initdb/pg_ctl, never the shared server): established streams keep flowing, new opens fail
// at once with a reason, /readyz says so, and everything works again when the database returns.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectTcp, findFreePort, roundTrip, startEchoServer, waitFor } from "../support/net.ts";
import { createDatabaseOn, startThrowawayCluster, type ThrowawayCluster } from "../support/postgres.ts";
import { createWorkspace, expectSuccess, startAgent, startHub } from "../support/processes.ts";

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error: unknown) => console.warn(`cleanup failed: ${String(error)}`));
  }
});

/** Sends `text` on an open socket and waits for its echo. */
async function echoOn(socket: Awaited<ReturnType<typeof connectTcp>>, text: string): Promise<string> {
  const before = socket.bytesRead;
  const received: Buffer[] = [];
  const onData = (chunk: Buffer) => received.push(chunk);
  socket.on("data", onData);
  socket.write(text);
  try {
    await waitFor(() => socket.bytesRead - before >= text.length, { timeoutMs: 5_000, what: `the echo of "${text}"` });
  } finally {
    socket.off("data", onData);
  }
  return Buffer.concat(received).toString();
}

describe("database outage", () => {
  it("keeps established streams, refuses new opens with a reason, and recovers by itself", { timeout: 180_000 }, async (ctx) => {
    let cluster: ThrowawayCluster | null = null;
    try {
      cluster = await startThrowawayCluster();
    } catch (error) {
      console.warn(`could not start a throwaway PostgreSQL cluster: ${String(error)}`);
    }
    if (!cluster) {
      console.warn("WARNING: no initdb/pg_ctl here: SKIPPING the database outage test");
      ctx.skip();
      return;
    }
    const owned = cluster;
    cleanups.push(() => owned.stop());
    const database = await createDatabaseOn(owned.adminUrl);
    const hub = await startHub({ databaseUrl: database.url });
    cleanups.push(() => hub.stop());
    const { apiKey } = await createWorkspace(hub, "acme", "ops@acme.test");
    const echo = await startEchoServer();
    const server = await startAgent({ hub, apiKey, label: "server" });
    const laptop = await startAgent({ hub, apiKey, label: "laptop" });
    expectSuccess(await server.run(["expose", echo.address, "--name", "echo"]));
    const port = await findFreePort();
    expectSuccess(await laptop.run(["reach", "echo", "--port", String(port)]));
    const established = await connectTcp(port);
    established.on("error", () => {});
    expect(await echoOn(established, "before")).toBe("before");

    await owned.serverStop();
    const ready = await fetch(`${hub.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);

    // The relay needs no database for bytes already flowing.
    for (let i = 0; i < 5; i++) expect(await echoOn(established, `during ${i}`)).toBe(`during ${i}`);

    // A new open needs the authorization check: refused at once, not left hanging.
    const started = Date.now();
    await expect(roundTrip(port, Buffer.from("new"), 10_000)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    // The reaching agent's log says why.
    const agentLog = join(laptop.configDir, "agent.log");
    await waitFor(async () => (await readFile(agentLog, "utf8")).includes("database unavailable"), {
      timeoutMs: 5_000,
      what: "the reason in agent.log",
    });
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/pc_stream_opens_refused_total\{reason="unavailable"\} [1-9]/);
    // The control plane says the same in its own words.
    const status = await laptop.run(["reach", "something-else"]);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain("The hub cannot reach its database right now");

    await owned.serverStart();
    await waitFor(
      () =>
        roundTrip(port, Buffer.from("after"), 5_000).then(
          (reply) => reply.toString() === "after",
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 500, what: "new streams once the database is back" },
    );
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
    expect(await echoOn(established, "still the same stream")).toBe("still the same stream");
    established.destroy();
  });
});
