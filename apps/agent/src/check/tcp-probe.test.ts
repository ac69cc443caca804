import { describe, expect, it } from "vitest";
import { flood, probeFake } from "../test-support/fake-service.js";
import { probeTcp } from "./tcp-probe.js";

describe("probeTcp", () => {
  it("shows the banner a service sends first, escaped", async () => {
    const result = await probeFake(probeTcp, (socket) => socket.write("SSH-2.0-OpenSSH_9.2\r\n\u001b[2J"));
    expect(result.isHealthy).toBe(true);
    expect(result.details.firstBytes).toBe("SSH-2.0-OpenSSH_9.2\\r\\n\\x1b[2J");
    expect(result.sent.length).toBe(0);
  });

  it("says a connected service that sends nothing first sent nothing", async () => {
    const result = await probeFake(probeTcp, () => {}, { timeoutMs: 300 });
    expect(result).toMatchObject({ isHealthy: true, summary: "connected, the service sent nothing first" });
    expect(result.elapsedMs).toBeLessThan(1_500);
  });

  it("reports a service that closes at once as not healthy", async () => {
    const result = await probeFake(probeTcp, (socket) => socket.end());
    expect(result.isHealthy).toBe(false);
    expect(result.problem).toMatch(/^the service closed the connection before sending anything/);
  });

  it("shows a flood's first bytes only, and stops reading it", async () => {
    let flooded: Promise<number> = Promise.resolve(0);
    const result = await probeFake(probeTcp, (socket) => {
      flooded = flood(socket, Buffer.alloc(64 * 1024, "z"));
    });
    expect(result.isHealthy).toBe(true);
    expect(result.details.firstBytes).toBe(`${"z".repeat(64)}... (192 more bytes)`);
    expect(await flooded).toBeLessThan(64 * 1024 * 1024);
  });
});
