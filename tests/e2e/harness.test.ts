// The harness checks itself: the helper servers behave as the relay tests assume, and the
// PostgreSQL the run picked really gives out throwaway databases. No product code runs here.
import { randomBytes } from "node:crypto";
import net from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createTestDatabase, postgresServer } from "../support/harness.ts";
import {
  connectTcp,
  findFreePort,
  isPortFree,
  LOOPBACK,
  readAll,
  roundTrip,
  sha256Hex,
  startDelayedEchoServer,
  startReplyAfterFinServer,
  startSha256Server,
  startSinkServer,
} from "../support/net.ts";

describe("test harness", () => {
  it("sha256, reply-after-FIN and delayed echo servers answer as documented", async () => {
    const payload = randomBytes(300_000);
    const sha = await startSha256Server();
    expect((await roundTrip(sha.port, payload)).toString()).toBe(sha256Hex(payload));
    const after = await startReplyAfterFinServer();
    expect(await roundTrip(after.port, payload)).toEqual(payload);
    const delayed = await startDelayedEchoServer(200);
    const started = Date.now();
    expect(await roundTrip(delayed.port, payload)).toEqual(payload);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await Promise.all([sha.close(), after.close(), delayed.close()]);
  });

  it("a sink stalls a direct writer within the loopback kernel buffers", async () => {
    const sink = await startSinkServer();
    const socket = await connectTcp(sink.port);
    const chunk = Buffer.alloc(64 * 1024);
    let accepted = 0;
    while (accepted < 256 * 1024 * 1024 && socket.write(chunk)) accepted += chunk.length;
    console.log(`direct loopback writer stalls after ${(accepted / 1048576).toFixed(1)} MiB`);
    expect(accepted).toBeLessThan(32 * 1024 * 1024);
    socket.destroy();
    await sink.close();
  });

  it("finds free ports and tells bound ones apart", async () => {
    const port = await findFreePort();
    expect(await isPortFree(port)).toBe(true);
    const server = net.createServer().listen(port, LOOPBACK);
    await new Promise((r) => server.once("listening", r));
    expect(await isPortFree(port)).toBe(false);
    await new Promise((r) => server.close(r));
    const socket = net.connect(port, LOOPBACK);
    await expect(readAll(socket, { timeoutMs: 2000 })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("creates and drops randomly named PostgreSQL databases", async (ctx) => {
    const server = postgresServer();
    if (!server) {
      ctx.skip();
      return;
    }
    const db = await createTestDatabase();
    expect(db?.name).toMatch(/^pc_test_[0-9a-f]{12}$/);
    if (!db) return;
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    expect((await holder.query("select current_database() as d")).rows[0]?.d).toBe(db.name);
    // Dropped even while a connection is still open (WITH (FORCE)).
    holder.on("error", () => {});
    await db.drop();
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    const left = await admin.query("select 1 from pg_database where datname = $1", [db.name]);
    await admin.end();
    await holder.end().catch(() => {});
    expect(left.rowCount).toBe(0);
  });
});
