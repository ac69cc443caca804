import { describe, expect, it } from "vitest";
import { ConnectError } from "../errors.js";
import { type IssuedToken, identityFromToken, loginWithDeviceCode, rotateAgentToken } from "./credentials.js";
import type { HubClient } from "./hub-client.js";

const HUB = "http://127.0.0.1:3001";
const OLD = "1".repeat(64);
const NEW = "2".repeat(64);
const workspace = { id: "0b7e4c55-2d1a-4a5e-8f7b-6a0d2c9e1f00", name: "acme" };

function profile(overrides: Record<string, unknown> = {}) {
  return {
    agentId: "5f0c6c1e-8a59-4c52-9d7e-3f1f0e2b7a11",
    label: "laptop",
    clientType: "cli",
    tokenExpiresAt: "2030-01-01T00:00:00.000Z",
    workspace,
    isProvisioned: false,
    isRotationPending: false,
    recentIpChanges: [],
    ...overrides,
  };
}

/** A hub that knows two tokens, records which token made which call, and rotates like the real one. */
function createRotatingHub(options: { isPending?: boolean; failConfirm?: boolean } = {}) {
  const calls: string[] = [];
  const clientFor = (token: string) =>
    ({
      agents: {
        me: { query: async () => profile({ isRotationPending: options.isPending === true && token === OLD }) },
        rotateToken: {
          mutate: async () => {
            calls.push(`rotate:${token.slice(0, 1)}`);
            return { token: NEW, tokenExpiresAt: "2030-02-01T00:00:00.000Z" };
          },
        },
        confirmRotation: {
          mutate: async () => {
            calls.push(`confirm:${token.slice(0, 1)}`);
            if (options.failConfirm === true) throw new ConnectError("HUB_UNREACHABLE", "Cannot reach the hub");
            return { tokenExpiresAt: "2030-02-01T00:00:00.000Z" };
          },
        },
      },
    }) as unknown as HubClient;
  return { calls, clientFor };
}

describe("rotateAgentToken", () => {
  it("saves the new token before confirming it, and confirms with the new token", async () => {
    const hub = createRotatingHub();
    const saved: IssuedToken[] = [];
    const rotated = await rotateAgentToken({
      hubUrl: HUB,
      token: OLD,
      createClient: hub.clientFor,
      save: async (issued) => {
        hub.calls.push("save");
        saved.push(issued);
      },
    });
    expect(hub.calls).toEqual(["rotate:1", "save", "confirm:2"]);
    expect(saved).toEqual([{ token: NEW, tokenExpiresAt: "2030-02-01T00:00:00.000Z" }]);
    expect(rotated).toEqual({ token: NEW, tokenExpiresAt: "2030-02-01T00:00:00.000Z", isResumed: false });
  });

  it("does not confirm when saving failed, so the old token keeps working", async () => {
    const hub = createRotatingHub();
    const failure = rotateAgentToken({
      hubUrl: HUB,
      token: OLD,
      createClient: hub.clientFor,
      save: async () => {
        throw new Error("disk full");
      },
    });
    await expect(failure).rejects.toThrow("disk full");
    expect(hub.calls).toEqual(["rotate:1"]);
  });

  it("says how to finish when the confirmation does not arrive", async () => {
    const hub = createRotatingHub({ failConfirm: true });
    await expect(
      rotateAgentToken({ hubUrl: HUB, token: OLD, createClient: hub.clientFor, save: async () => {} }),
    ).rejects.toThrow(
      /^Saved the new agent token, but the hub did not confirm it \(Cannot reach the hub\): run connect up --rotate-token again/,
    );
  });

  it("finishes an interrupted rotation instead of starting another", async () => {
    const hub = createRotatingHub({ isPending: true });
    const rotated = await rotateAgentToken({ hubUrl: HUB, token: OLD, createClient: hub.clientFor, save: async () => {} });
    expect(hub.calls).toEqual(["confirm:1"]);
    expect(rotated).toMatchObject({ token: OLD, isResumed: true });
  });
});

describe("identityFromToken", () => {
  it("builds the identity from what the hub says about the token, without registering", async () => {
    const client = { agents: { me: { query: async () => profile({ isProvisioned: true, clientType: "claude-code" }) } } };
    const identity = await identityFromToken({
      hubUrl: "http://127.0.0.1:3001/",
      token: NEW,
      isInsecureAllowed: false,
      createClient: () => client as unknown as HubClient,
    });
    expect(identity).toEqual({
      hubUrl: HUB,
      agentId: profile().agentId,
      token: NEW,
      tokenExpiresAt: "2030-01-01T00:00:00.000Z",
      workspace,
      label: "laptop",
      isProvisioned: true,
    });
  });
});

type PollAnswer = { status: "pending" | "denied" | "expired" } | { status: "approved"; [key: string]: unknown } | Error;

function createLoginHub(answers: PollAnswer[], start: { expiresInMs?: number; intervalSeconds?: number } = {}) {
  const polls: string[] = [];
  let started: { label: string; hubUrl?: string } | undefined;
  let clock = Date.parse("2030-01-01T00:00:00.000Z");
  const client = {
    deviceAuth: {
      start: {
        mutate: async (input: { label: string; hubUrl?: string }) => {
          started = input;
          return {
            deviceCode: `pcd_${"a".repeat(64)}`,
            userCode: "ABCD-EFGH",
            verificationUrl: "https://app.example.com/device?code=ABCD-EFGH",
            expiresAt: new Date(clock + (start.expiresInMs ?? 600_000)).toISOString(),
            intervalSeconds: start.intervalSeconds ?? 5,
          };
        },
      },
      poll: {
        mutate: async ({ deviceCode }: { deviceCode: string }) => {
          polls.push(deviceCode);
          const answer = answers.shift() ?? { status: "pending" };
          if (answer instanceof Error) throw answer;
          return answer;
        },
      },
    },
  } as unknown as HubClient;
  const sleeps: number[] = [];
  return {
    client,
    polls,
    sleeps,
    getStarted: () => started,
    now: () => clock,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      clock += ms;
    },
  };
}

describe("loginWithDeviceCode", () => {
  const approved = {
    status: "approved" as const,
    agentId: "5f0c6c1e-8a59-4c52-9d7e-3f1f0e2b7a11",
    token: NEW,
    tokenExpiresAt: "2030-01-31T00:00:00.000Z",
    label: "build-box",
    workspace,
  };

  it("shows the code, polls at the hub's interval, and returns the new agent's identity on approval", async () => {
    const hub = createLoginHub([{ status: "pending" }, { status: "pending" }, approved], { intervalSeconds: 7 });
    const shown: unknown[] = [];
    const identity = await loginWithDeviceCode({
      hubUrl: HUB,
      label: "build-box",
      isInsecureAllowed: false,
      client: hub.client,
      now: hub.now,
      sleep: hub.sleep,
      onCode: (code) => {
        shown.push(code);
      },
    });
    expect(hub.getStarted()).toEqual({ label: "build-box", hubUrl: HUB });
    expect(shown).toEqual([
      expect.objectContaining({ userCode: "ABCD-EFGH", verificationUrl: "https://app.example.com/device?code=ABCD-EFGH" }),
    ]);
    expect(hub.sleeps).toEqual([7000, 7000, 7000]);
    expect(identity).toEqual({
      hubUrl: HUB,
      agentId: approved.agentId,
      token: NEW,
      tokenExpiresAt: approved.tokenExpiresAt,
      workspace,
      label: "build-box",
    });
  });

  it("stops with what to do when the login is denied or expires", async () => {
    const options = { hubUrl: HUB, label: "x", isInsecureAllowed: false, onCode: () => {} };
    const denied = createLoginHub([{ status: "pending" }, { status: "denied" }]);
    await expect(loginWithDeviceCode({ ...options, ...denied })).rejects.toThrow(
      /^The login was denied in the workspace: if that was a mistake, run connect login again/,
    );
    const expired = createLoginHub([{ status: "expired" }]);
    await expect(loginWithDeviceCode({ ...options, ...expired })).rejects.toThrow(
      "The login code expired before anyone approved it: run connect login again",
    );
  });

  it("rides out an unreachable hub while waiting, but never past the code's expiry", async () => {
    const blip = new ConnectError("HUB_UNREACHABLE", "Cannot reach the hub");
    const recovering = createLoginHub([blip, approved]);
    const options = { hubUrl: HUB, label: "x", isInsecureAllowed: false, onCode: () => {} };
    await expect(loginWithDeviceCode({ ...options, ...recovering })).resolves.toMatchObject({ token: NEW });

    // Pending forever: bounded by the expiry (10 minutes at 5 s is 120 polls, plus slack).
    const forever = createLoginHub([]);
    await expect(loginWithDeviceCode({ ...options, ...forever })).rejects.toThrow(/expired before anyone approved it/);
    expect(forever.polls.length).toBeLessThanOrEqual(122);
  });

  it("refuses an insecure hub before sending anything", async () => {
    const hub = createLoginHub([approved]);
    await expect(
      loginWithDeviceCode({ hubUrl: "http://hub.example.com", label: "x", isInsecureAllowed: false, onCode: () => {}, ...hub }),
    ).rejects.toThrow(/^Refusing insecure hub URL/);
    expect(hub.getStarted()).toBeUndefined();
  });
});
