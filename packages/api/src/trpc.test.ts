import type { AddressInfo } from "node:net";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiDeps } from "./deps.js";
import { AGENT_TOKEN_EXPIRED, DATABASE_UNAVAILABLE, INTERNAL_ERROR, INVALID_CREDENTIALS } from "./errors.js";
import { appRouter } from "./root.js";
import { type Harness, openHarness } from "./test-support/harness.js";
import { createContextFromRequest, parseBearer } from "./trpc.js";

describe("parseBearer", () => {
  it("takes the token of a Bearer header and nothing else", () => {
    expect(parseBearer("Bearer pc_abc")).toBe("pc_abc");
    expect(parseBearer("bearer   abc  ")).toBe("abc");
    expect(parseBearer("Basic dXNlcjpwYXNz")).toBeUndefined();
    expect(parseBearer("Bearer a b")).toBeUndefined();
    expect(parseBearer(undefined)).toBeUndefined();
  });
});

interface TrpcResponseBody {
  result?: { data: unknown };
  error?: { message: string; data: { code: string; httpStatus: number; appCode: string | null; stack?: string } };
}

describe("tRPC over HTTP (PGlite)", () => {
  let harness: Harness;
  let baseUrl: string;
  let apiKey: string;
  let agentToken: string;

  function serve(deps: ApiDeps): Promise<{ url: string; close(): Promise<void> }> {
    const httpServer = createHTTPServer({ router: appRouter, createContext: createContextFromRequest(deps), basePath: "/trpc/" });
    return new Promise((resolve) => {
      httpServer.listen(0, "127.0.0.1", () => {
        const { port } = httpServer.address() as AddressInfo;
        resolve({
          url: `http://127.0.0.1:${port}/trpc`,
          close: () => new Promise<void>((done) => httpServer.close(() => done())),
        });
      });
    });
  }

  async function get(path: string, bearer?: string, url = baseUrl) {
    const response = await fetch(`${url}/${path}`, {
      headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, body: (await response.json()) as TrpcResponseBody };
  }

  let closeServer: () => Promise<void>;

  beforeAll(async () => {
    harness = await openHarness("pglite");
    ({ apiKey } = await harness.createTestWorkspace());
    ({ token: agentToken } = await harness.registerTestAgent(apiKey, "http-agent"));
    const served = await serve(harness.deps);
    baseUrl = served.url;
    closeServer = served.close;
  });

  afterAll(async () => {
    await closeServer?.();
    await harness?.close();
  });

  it("authenticates from the Authorization header", async () => {
    const { status, body } = await get("services.list", apiKey);
    expect(status).toBe(200);
    expect(body.result?.data).toEqual([]);
  });

  it("answers 401 with appCode UNAUTHORIZED for a bad or missing bearer", async () => {
    const bad = await get("services.list", "pc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect(bad.status).toBe(401);
    expect(bad.body.error).toMatchObject({
      message: INVALID_CREDENTIALS,
      data: { code: "UNAUTHORIZED", httpStatus: 401, appCode: "UNAUTHORIZED" },
    });
    expect(bad.body.error?.data.stack).toBeUndefined();
    const missing = await get("services.list");
    expect(missing.status).toBe(401);
  });

  it("answers 401 with appCode TOKEN_EXPIRED for an expired agent token", async () => {
    harness.setNow(new Date(Date.now() + 365 * 24 * 60 * 60 * 1000));
    try {
      const { status, body } = await get("agents.me", agentToken);
      expect(status).toBe(401);
      expect(body.error).toMatchObject({ message: AGENT_TOKEN_EXPIRED, data: { appCode: "TOKEN_EXPIRED" } });
    } finally {
      harness.setNow(undefined);
    }
  });

  it("says the database is unavailable, with 503, when it cannot be reached", async () => {
    // What Prisma's pg adapter throws when the server is down (P1001, DatabaseNotReachable).
    const unreachable = Object.assign(new Error("Can't reach database server at 127.0.0.1:5432"), {
      code: "P1001",
      meta: { driverAdapterError: { name: "DriverAdapterError", cause: { kind: "DatabaseNotReachable" } } },
    });
    const downDeps: ApiDeps = {
      ...harness.deps,
      db: { ...harness.deps.db, withWorkspace: () => Promise.reject(unreachable) },
    };
    const down = await serve(downDeps);
    try {
      const { status, body } = await get("services.list", apiKey, down.url);
      expect(status).toBe(503);
      expect(body.error?.message).toBe(DATABASE_UNAVAILABLE);
      expect(JSON.stringify(body)).not.toContain("5432");
    } finally {
      await down.close();
    }
  });

  it("hides the text of unexpected errors behind a generic message", async () => {
    const brokenDeps: ApiDeps = {
      ...harness.deps,
      db: {
        ...harness.deps.db,
        withWorkspace: () => Promise.reject(new Error('relation "services" does not exist at SELECT secret_column')),
      },
    };
    const broken = await serve(brokenDeps);
    try {
      const { status, body } = await get("services.list", apiKey, broken.url);
      expect(status).toBe(500);
      expect(body.error?.message).toBe(INTERNAL_ERROR);
      expect(JSON.stringify(body)).not.toContain("secret_column");
    } finally {
      await broken.close();
    }
  });
});
