import { describe, expect, it } from "vitest";
import type { AgentProcessStatus } from "../daemon/control-protocol.js";
import { formatStatus } from "./format.js";

const status: AgentProcessStatus = {
  pid: 42,
  configDir: "/home/me/.private-connect",
  agent: { id: "agent-1", label: "laptop", workspace: { id: "ws-1", name: "acme" } },
  hub: { url: "https://hub.example.com", state: "closed", lastError: "Agent token expired" },
  token: {
    expiresAt: "2030-01-01T00:00:00.000Z",
    isProvisioned: true,
    warning: "Provisioned agent token expires in 2 hours: provision a new one and run connect up --token <token>",
  },
  exposures: [],
  reaches: [],
  activeStreams: 0,
  notices: [{ at: "2029-12-31T20:00:00.000Z", level: "warning", code: "ip_changed", message: "Used from 10.0.0.2" }],
  ipChanges: [{ previousIp: "10.0.0.1", newIp: "10.0.0.2", at: "2029-12-31T19:59:59.000Z" }],
};

describe("formatStatus", () => {
  it("shows the token, its warning, IP changes and the hub's notices", () => {
    const text = formatStatus(status);
    expect(text).toContain("Token      provisioned, expires 2030-01-01T00:00:00.000Z");
    expect(text).toContain(
      "Warning    Provisioned agent token expires in 2 hours: provision a new one and run connect up --token <token>",
    );
    expect(text).toContain("  2029-12-31T19:59:59.000Z  10.0.0.1 -> 10.0.0.2");
    expect(text).toContain("Hub notices\n  2029-12-31T20:00:00.000Z  warning ip_changed: Used from 10.0.0.2");
    expect(text).toContain("Hub        https://hub.example.com (closed: Agent token expired)");
  });

  it("says when the hub does not relay end-to-end encryption, and nothing when it does or has not said", () => {
    const connected = { url: "https://hub.example.com", state: "connected" as const };
    expect(formatStatus({ ...status, hub: { ...connected, relaysEndToEnd: false } })).toContain(
      "Hub        https://hub.example.com (connected), does not relay end-to-end encryption: update the hub",
    );
    for (const hub of [{ ...connected, relaysEndToEnd: true }, connected]) {
      expect(formatStatus({ ...status, hub })).toContain("Hub        https://hub.example.com (connected)\n");
    }
  });

  it("prints the hub's labels, names, errors and notices as visible text, one line each", () => {
    const text = formatStatus({
      ...status,
      agent: { id: "agent-1", label: "lap\u001b[2Jtop", workspace: { id: "ws-1", name: "ac\u202eme\nForged  line" } },
      hub: { url: "https://hub.example.com", state: "closed", lastError: "gone\u0007" },
      notices: [{ at: "2029-12-31T20:00:00.000Z", level: "warning", code: "x", message: "\u001b]0;PWNED\u0007" }],
    });
    expect(text).toContain("Agent      lap\\x1b[2Jtop (agent-1), workspace ac\\u202eme\\nForged  line");
    expect(text).toContain("(closed: gone\\x07)");
    expect(text).toContain("warning x: \\x1b]0;PWNED\\x07");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw ones is the point.
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(text.split("\n").filter((line) => line.startsWith("Forged"))).toEqual([]);
  });

  it("leaves the sections out when there is nothing to say", () => {
    const text = formatStatus({
      ...status,
      token: { expiresAt: "2030-01-01T00:00:00.000Z", isProvisioned: false },
      notices: [],
      ipChanges: [],
    });
    expect(text).not.toContain("Warning");
    expect(text).not.toContain("IP changes");
    expect(text).not.toContain("Hub notices");
  });

  it("shows how long rotations can extend the token, and since when it is registered", () => {
    const text = formatStatus({
      ...status,
      token: {
        expiresAt: "2030-01-31T00:00:00.000Z",
        isProvisioned: false,
        registeredAt: "2030-01-01T00:00:00.000Z",
        maxExpiresAt: "2031-01-01T00:00:00.000Z",
      },
    });
    expect(text).toContain("Token      expires 2030-01-31T00:00:00.000Z");
    expect(text).toContain(
      "Lifetime   rotations extend it until 2031-01-01T00:00:00.000Z at most (registered 2030-01-01T00:00:00.000Z), then register again",
    );
    // A provisioned token is never rotated: its expiry is its whole life.
    expect(formatStatus({ ...status, token: { ...status.token, maxExpiresAt: "2030-01-01T00:00:00.000Z" } })).not.toContain(
      "Lifetime",
    );
  });

  it("says per exposure and per reach whether the last stream was end-to-end encrypted, and whether the peer key is verified", () => {
    const text = formatStatus({
      ...status,
      e2ePublicKey: "pcpk_WqUzrCEv7oViZ_Sb8qmq5enRZtFVosA28jAUGY-TUkU",
      exposures: [
        {
          name: "prod-db",
          host: "localhost",
          port: 5432,
          e2e: "required",
          security: { isEndToEnd: true, peer: { agentId: "agent-2", label: "laptop", isVerified: true } },
        },
        { name: "cache", host: "localhost", port: 6379, e2e: "off" },
      ],
      reaches: [
        {
          service: "api",
          host: "127.0.0.1",
          port: 3000,
          security: { isEndToEnd: true, peer: { agentId: "agent-3", label: "server", isVerified: false } },
        },
        {
          service: "legacy",
          host: "127.0.0.1",
          port: 3001,
          security: { isEndToEnd: false, peer: { agentId: "agent-4", label: "old-box", isVerified: false } },
        },
      ],
    });
    expect(text).toContain("E2E key    pcpk_WqUzrCEv7oViZ_Sb8qmq5enRZtFVosA28jAUGY-TUkU");
    expect(text).toContain(
      "  prod-db -> localhost:5432, e2e required, last stream end-to-end encrypted from laptop (key verified)",
    );
    expect(text).toContain("  cache -> localhost:6379, e2e off\n");
    expect(text).toContain(
      "  api on 127.0.0.1:3000, last stream end-to-end encrypted to server (key not verified: connect verify agent-3)",
    );
    expect(text).toContain("  legacy on 127.0.0.1:3001, last stream in plaintext to old-box");
  });
});
