// Vitest globalSetup of the unit and e2e projects: picks the PostgreSQL server once per project
// and hands its admin URL to the test files (inject("postgres")); stops a throwaway cluster at
// the end. Picks the run's Redis once for all projects (tests/support/redis-server.ts) and hands
// it over as inject("redis") and as PC_TEST_REDIS_URL / PC_TEST_NO_REDIS in process.env, which
// the test processes inherit (they start after every global setup has run).
import type { TestProject } from "vitest/node";
import { acquirePostgres } from "./postgres.ts";
import {
  acquireRedis,
  NO_REDIS_VARIABLE,
  noRedisReason,
  REDIS_URL_VARIABLE,
  type RedisSource,
  type SharedRedis,
  shareRedis,
  warnNoRedis,
} from "./redis-server.ts";

export interface ProvidedPostgres {
  adminUrl: string;
  host: string;
  port: number;
  source: "env" | "local" | "throwaway";
}

export interface ProvidedRedis {
  url: string;
  source: RedisSource;
}

declare module "vitest" {
  export interface ProvidedContext {
    postgres: ProvidedPostgres | null;
    redis: ProvidedRedis | null;
  }
}

// Each project may load this file as a module of its own; the one Redis lives on globalThis.
const sharedRedisKey = Symbol.for("private-connect.test.shared-redis");
function sharedRedis(): SharedRedis {
  const holder = globalThis as { [sharedRedisKey]?: SharedRedis };
  holder[sharedRedisKey] ??= shareRedis(async () => {
    const chosen = await acquireRedis();
    if (!chosen) warnNoRedis(noRedisReason(process.env));
    return chosen;
  });
  return holder[sharedRedisKey];
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await acquirePostgres();
  if (server) {
    const { adminUrl, host, port, source } = server;
    console.log(`${project.name}: PostgreSQL cases run on ${host}:${port} (${source})`);
    project.provide("postgres", { adminUrl, host, port, source });
  } else {
    project.provide("postgres", null);
  }

  const redis = sharedRedis();
  const chosen = await redis.lease().catch(async (error: unknown) => {
    await redis.release();
    await server?.stop();
    throw error;
  });
  if (chosen) {
    console.log(`${project.name}: Redis cases run on ${chosen.url} (${chosen.source})`);
    process.env[REDIS_URL_VARIABLE] = chosen.url;
    delete process.env[NO_REDIS_VARIABLE];
    project.provide("redis", { url: chosen.url, source: chosen.source });
  } else {
    delete process.env[REDIS_URL_VARIABLE];
    process.env[NO_REDIS_VARIABLE] = noRedisReason(process.env);
    project.provide("redis", null);
  }

  return async () => {
    await server?.stop();
    const last = await redis.release();
    // Said again at the very end, where the summary is read.
    if (last && !chosen) warnNoRedis(noRedisReason(process.env));
  };
}
