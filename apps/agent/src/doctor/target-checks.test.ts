import { type AddressInfo, createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkExposureTargets, checkReachPorts } from "./target-checks.js";

const servers: Server[] = [];

async function listen(): Promise<Server> {
  const server = createServer((socket) => socket.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/** A port nothing listens on: one the system just gave out and was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe("exposure targets", () => {
  it("pass a listening target and fail a closed one with how to fix it", async () => {
    const open = (await listen().then((server) => server.address())) as AddressInfo;
    const closed = await closedPort();
    const checks = await checkExposureTargets([
      { name: "cache", host: "127.0.0.1", port: open.port },
      { name: "prod-db", host: "127.0.0.1", port: closed },
    ]);
    expect(checks[0]).toEqual({
      name: "expose cache",
      status: "pass",
      detail: `target 127.0.0.1:${open.port} accepts connections`,
    });
    expect(checks[1]?.status).toBe("fail");
    expect(checks[1]?.detail).toMatch(
      new RegExp(`^target 127\\.0\\.0\\.1:${closed} does not accept connections: .*ECONNREFUSED`),
    );
    expect(checks[1]?.fix).toBe(
      `start the service on 127.0.0.1:${closed}, or expose the right one: connect expose HOST:PORT --name prod-db`,
    );
  });

  it("say so when there is none", async () => {
    expect(await checkExposureTargets([])).toEqual([{ name: "exposures", status: "pass", detail: "none on this machine" }]);
  });
});

describe("reach ports", () => {
  it("pass a bound port and fail an unbound one with the reach command that binds it again", async () => {
    const open = (await listen().then((server) => server.address())) as AddressInfo;
    const closed = await closedPort();
    const checks = await checkReachPorts(
      [
        { service: "cache", host: "127.0.0.1", port: open.port },
        { service: "billing", from: "partner", host: "127.0.0.1", port: closed },
      ],
      true,
    );
    expect(checks[0]).toEqual({ name: "reach cache", status: "pass", detail: `127.0.0.1:${open.port} is listening` });
    expect(checks[1]).toMatchObject({
      name: "reach billing from partner",
      status: "fail",
      fix: `reach it again: connect reach billing --from partner --port ${closed}`,
    });
  });

  it("are not dialled while no agent runs", async () => {
    const checks = await checkReachPorts([{ service: "cache", host: "127.0.0.1", port: 1 }], false);
    expect(checks).toEqual([
      { name: "reach cache", status: "skip", detail: "not checked: 127.0.0.1:1 listens only while the agent runs" },
    ]);
  });
});
