import { createServer, type Server } from "node:http";
import { TRPCClientError } from "@trpc/client";
import { afterEach, describe, expect, it } from "vitest";
import { createHubClient, toHubError } from "./hub-client.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer(handler);
    servers.push(server);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (typeof address !== "object" || address === null) throw new Error("no address");
      resolve(`http://127.0.0.1:${address.port}`);
    });
  });
}

/** A port nothing listens on: bind one, note it, close it. */
async function findClosedPort(): Promise<string> {
  const url = await listen(() => {});
  const server = servers.pop();
  await new Promise((resolve) => server?.close(resolve));
  return url;
}

describe("hub client errors", () => {
  it("says the hub cannot be reached when nothing listens", async () => {
    const hubUrl = await findClosedPort();
    const failure = createHubClient(hubUrl, "pc_x").services.list.query();
    await expect(failure.catch((error: unknown) => Promise.reject(toHubError(error, hubUrl)))).rejects.toThrow(
      `Cannot reach the hub at ${hubUrl}: check --hub and that the hub is running`,
    );
  });

  it("says so when the URL answers but is not a hub", async () => {
    const hubUrl = await listen((_request, response) => {
      response.writeHead(404, { "content-type": "text/html" });
      response.end("<h1>Not here</h1>");
    });
    const error = await createHubClient(hubUrl, "pc_x")
      .services.list.query()
      .catch((caught: unknown) => caught);
    expect(toHubError(error, hubUrl).message).toBe(
      `The server at ${hubUrl} did not answer like a Private Connect hub: check --hub`,
    );
  });

  it("sends the bearer and keeps the hub's own message", async () => {
    let authorization: string | undefined;
    const hubUrl = await listen((request, response) => {
      authorization = request.headers.authorization;
      response.writeHead(401, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          error: {
            message: "Invalid API key: create one with connect-hub workspace create",
            code: -32001,
            data: { code: "UNAUTHORIZED" },
          },
        }),
      );
    });
    const error = await createHubClient(hubUrl, "pc_secret")
      .agents.register.mutate({ label: "x" })
      .catch((caught: unknown) => caught);
    expect(authorization).toBe("Bearer pc_secret");
    expect(toHubError(error, hubUrl)).toMatchObject({
      code: "HUB_UNAUTHORIZED",
      message: "Invalid API key: create one with connect-hub workspace create",
    });
  });

  it("maps NOT_FOUND to Service not found and unwraps a zod issue list", () => {
    const notFound = new TRPCClientError("Service not found", {
      result: { error: { message: "Service not found", code: -32004, data: { code: "NOT_FOUND" } } },
    });
    expect(toHubError(notFound, "http://h")).toMatchObject({ code: "SERVICE_NOT_FOUND", message: "Service not found" });
    const issues = JSON.stringify([{ code: "invalid_format", path: ["name"], message: "Service name must be 1-63 characters" }]);
    const badRequest = new TRPCClientError(issues, {
      result: { error: { message: issues, code: -32600, data: { code: "BAD_REQUEST" } } },
    });
    expect(toHubError(badRequest, "http://h")).toMatchObject({
      code: "INVALID_INPUT",
      message: "Service name must be 1-63 characters",
    });
  });
});
