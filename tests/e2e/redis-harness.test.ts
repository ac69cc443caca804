// Where the suite's Redis cases run (tests/support/redis-server.ts): each branch of the choice
// with its probes passed in, one Redis shared by the vitest projects, and a real throwaway
// redis-server that answers on loopback and is gone after close.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ChooseRedisOptions,
  canPingRedis,
  chooseRedis,
  DEFAULT_TEST_REDIS_URL,
  findRedisServer,
  type RedisChoice,
  type RedisServer,
  shareRedis,
  startRedisServer,
} from "../support/redis-server.ts";

/** Probes that answer PING only at `up`, a fake throwaway server, and a record of the calls. */
function probes(up: string[], env: Record<string, string | undefined> = {}, throwaway?: () => Promise<RedisServer | null>) {
  const pinged: string[] = [];
  const warnings: string[] = [];
  let started = 0;
  let stopped = 0;
  const options: ChooseRedisOptions = {
    env,
    ping: async (url) => {
      pinged.push(url);
      return up.includes(url);
    },
    startThrowaway:
      throwaway ??
      (async () => {
        started += 1;
        return {
          port: 50_000,
          url: "redis://127.0.0.1:50000",
          stop: async () => {},
          start: async () => {},
          logs: () => "",
          close: async () => {
            stopped += 1;
          },
        };
      }),
    warn: (message) => warnings.push(message),
  };
  return {
    options,
    pinged,
    warnings,
    started: () => started,
    stopped: () => stopped,
  };
}

describe("choosing the test Redis", () => {
  it("uses REDIS_TEST_URL when it answers, without looking anywhere else", async () => {
    const url = "redis://10.1.2.3:6380/2";
    const run = probes([url, DEFAULT_TEST_REDIS_URL], { REDIS_TEST_URL: url });
    const choice = await chooseRedis(run.options);
    expect(choice).toMatchObject({ url, source: "env" });
    expect(run.pinged).toEqual([url]);
    expect(run.started()).toBe(0);
  });

  it("refuses a REDIS_TEST_URL that does not answer, naming it with its password hidden", async () => {
    const run = probes([DEFAULT_TEST_REDIS_URL], { REDIS_TEST_URL: "redis://:hunter2@127.0.0.1:1" });
    const refusal = chooseRedis(run.options);
    await expect(refusal).rejects.toThrow(
      "REDIS_TEST_URL is set but no Redis answers PING there (redis://:***@127.0.0.1:1): start it, or unset REDIS_TEST_URL",
    );
    await expect(refusal).rejects.not.toThrow("hunter2");
    // A server the user did not ask for is never used in its place.
    expect(run.started()).toBe(0);
  });

  it("uses 127.0.0.1:6379 when it answers and REDIS_TEST_URL is not set", async () => {
    const run = probes([DEFAULT_TEST_REDIS_URL]);
    expect(await chooseRedis(run.options)).toMatchObject({ url: DEFAULT_TEST_REDIS_URL, source: "local" });
    expect(run.started()).toBe(0);
  });

  it("starts a throwaway server when 6379 does not answer, and its stop closes it", async () => {
    const run = probes([]);
    const choice = await chooseRedis(run.options);
    expect(choice).toMatchObject({ url: "redis://127.0.0.1:50000", source: "throwaway" });
    expect(run.pinged).toEqual([DEFAULT_TEST_REDIS_URL]);
    await choice?.stop();
    expect(run.stopped()).toBe(1);
  });

  it("with PC_TEST_REDIS=throwaway starts one even though 6379 answers", async () => {
    const run = probes([DEFAULT_TEST_REDIS_URL], { PC_TEST_REDIS: "throwaway", REDIS_TEST_URL: DEFAULT_TEST_REDIS_URL });
    expect(await chooseRedis(run.options)).toMatchObject({ source: "throwaway" });
    expect(run.pinged).toEqual([]);
  });

  it("finds none when redis-server is not installed", async () => {
    const run = probes([], {}, async () => null);
    expect(await chooseRedis(run.options)).toBeNull();
    expect(run.warnings).toEqual([]);
  });

  it("finds none, saying why, when the throwaway server fails to start", async () => {
    const run = probes([], {}, async () => {
      throw new Error("redis-server exited: Address already in use");
    });
    expect(await chooseRedis(run.options)).toBeNull();
    expect(run.warnings).toEqual([
      "could not start a throwaway redis-server: Error: redis-server exited: Address already in use",
    ]);
  });

  it("with PC_TEST_REDIS=none neither probes nor starts anything", async () => {
    const run = probes([DEFAULT_TEST_REDIS_URL], { PC_TEST_REDIS: "none" });
    expect(await chooseRedis(run.options)).toBeNull();
    expect(run.pinged).toEqual([]);
    expect(run.started()).toBe(0);
  });

  it("refuses a PC_TEST_REDIS it does not know, saying which values it takes", async () => {
    const run = probes([DEFAULT_TEST_REDIS_URL], { PC_TEST_REDIS: "local" });
    await expect(chooseRedis(run.options)).rejects.toThrow(
      'PC_TEST_REDIS=local is not understood: use "throwaway" or "none", or unset it',
    );
  });
});

describe("one Redis for every vitest project", () => {
  it("acquires once and stops only when the last project gives it back", async () => {
    let acquired = 0;
    let stopped = 0;
    const choice: RedisChoice = {
      url: "redis://127.0.0.1:50001",
      source: "throwaway",
      stop: async () => {
        stopped += 1;
      },
    };
    const shared = shareRedis(async () => {
      acquired += 1;
      return choice;
    });
    const [unit, e2e] = await Promise.all([shared.lease(), shared.lease()]);
    expect(unit).toBe(choice);
    expect(e2e).toBe(choice);
    expect(acquired).toBe(1);

    expect(await shared.release()).toBe(false);
    expect(stopped).toBe(0);
    expect(await shared.release()).toBe(true);
    expect(stopped).toBe(1);
  });
});

describe("canPingRedis", () => {
  it("says false at once for a port where nothing listens", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const started = Date.now();
    expect(await canPingRedis(`redis://127.0.0.1:${port}`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

const redisServerBinary = findRedisServer();
if (!redisServerBinary) console.warn("WARNING: no redis-server installed: SKIPPING the throwaway redis-server test");

describe.skipIf(!redisServerBinary)("a throwaway redis-server", () => {
  let server: RedisServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it("answers PING on loopback, comes back on its port after stop, and is gone after close", async () => {
    server = await startRedisServer();
    if (!server) throw new Error("findRedisServer found redis-server but startRedisServer did not start it");
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(6379);
    expect(await canPingRedis(server.url)).toBe(true);

    await server.stop();
    expect(await canPingRedis(server.url, 500)).toBe(false);
    await server.start();
    expect(await canPingRedis(server.url)).toBe(true);

    await server.close();
    expect(await canPingRedis(server.url, 500)).toBe(false);
  });
});
