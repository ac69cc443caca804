import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeOpen, type OpenRequest, ResetCode } from "@private-connect/protocol";
import { describe, expect, it } from "vitest";
import { MemoryKeyBook } from "../test-support/memory-key-book.js";
import { generateKeyPair } from "./noise/index.js";
import { admitOpen } from "./open-admission.js";
import { decideReach, type ResolvedPeer } from "./reach-decision.js";
import { beginStreamHandshake } from "./stream-handshake.js";
import { certificatePayload, generateWorkspaceKeyPair, signCertificate } from "./workspace-certificate.js";
import { InstalledWorkspaceTrust, installCertificate, NO_WORKSPACE_TRUST, type WorkspaceTrust } from "./workspace-trust.js";

const server = { agentId: "agent-server", workspaceId: "ws-a" };
const laptop = { agentId: "agent-laptop", workspaceId: "ws-a", label: "laptop" };

function textOf(key: Buffer): string {
  return `pcpk_${key.toString("base64url")}`;
}

function resolved(overrides: Partial<ResolvedPeer> = {}): ResolvedPeer {
  return {
    agentId: server.agentId,
    label: "db-server",
    workspaceId: server.workspaceId,
    policy: "preferred",
    publicKey: null,
    ...overrides,
  };
}

describe("the reaching agent's decision", () => {
  const key = generateKeyPair().publicKey;

  it("encrypts whenever the exposing agent has a key and the hub relays handshakes, pinning the key on first contact", () => {
    const pins = new MemoryKeyBook();
    const decision = decideReach({ service: "db", peer: resolved({ publicKey: textOf(key) }), hubRelaysEndToEnd: true, pins });
    expect(decision).toMatchObject({ kind: "e2e", isVerified: false });
    expect(pins.hasPin(server.agentId)).toBe(true);
  });

  it("refuses a key other than the pinned one, before anything is sent, and names connect trust", () => {
    const pins = new MemoryKeyBook();
    pins.check({ ...server, label: "db-server" }, key);
    const swapped = textOf(generateKeyPair().publicKey);
    const decision = decideReach({ service: "db", peer: resolved({ publicKey: swapped }), hubRelaysEndToEnd: true, pins });
    expect(decision.kind).toBe("refuse");
    if (decision.kind !== "refuse") return;
    expect(decision.code).toBe(ResetCode.E2E_FAILED);
    expect(decision.reason).toContain("connect trust agent-server");
    expect(pins.changes).toHaveLength(1);
  });

  it("never falls back to plaintext under required: no key, or a hub that drops handshakes", () => {
    const pins = new MemoryKeyBook();
    for (const [peer, hub] of [
      [resolved({ policy: "required" }), true],
      [resolved({ policy: "required", publicKey: textOf(key) }), false],
    ] as const) {
      const decision = decideReach({ service: "db", peer, hubRelaysEndToEnd: hub, pins });
      expect(decision).toMatchObject({ kind: "refuse", code: ResetCode.E2E_REQUIRED });
    }
  });

  it("refuses plaintext to a peer it reached end to end before, whatever the hub now says of its key or policy", () => {
    const pins = new MemoryKeyBook();
    pins.check({ ...server, label: "db-server" }, key);
    for (const peer of [resolved(), resolved({ policy: "off" })]) {
      expect(decideReach({ service: "db", peer, hubRelaysEndToEnd: true, pins })).toMatchObject({
        kind: "refuse",
        code: ResetCode.E2E_REQUIRED,
      });
    }
    // "off" from the hub does not turn encryption off towards a pinned peer that has its key.
    expect(
      decideReach({ service: "db", peer: resolved({ policy: "off", publicKey: textOf(key) }), hubRelaysEndToEnd: true, pins })
        .kind,
    ).toBe("e2e");
  });

  it("reaches an unknown peer without a key in plaintext under preferred, and any unpinned one under off", () => {
    const pins = new MemoryKeyBook();
    expect(decideReach({ service: "db", peer: resolved(), hubRelaysEndToEnd: true, pins }).kind).toBe("plaintext");
    expect(
      decideReach({ service: "db", peer: resolved({ policy: "off", publicKey: textOf(key) }), hubRelaysEndToEnd: true, pins })
        .kind,
    ).toBe("plaintext");
    expect(pins.hasPin(server.agentId)).toBe(false);
  });

  it("with a workspace certificate, reaches nothing in plaintext, whatever the hub says of the key, the policy or itself", () => {
    const pins = new MemoryKeyBook();
    for (const [peer, hub] of [
      [resolved(), true],
      [resolved({ policy: "off", publicKey: textOf(key) }), false],
      [resolved({ policy: "preferred", publicKey: textOf(key) }), false],
    ] as const) {
      expect(decideReach({ service: "db", peer, hubRelaysEndToEnd: hub, pins, isCertified: true })).toMatchObject({
        kind: "refuse",
        code: ResetCode.E2E_REQUIRED,
        reason: expect.stringMatching(/workspace certificate/),
      });
    }
    // "off" from the hub is not believed either: with a key, the stream runs end to end.
    const off = resolved({ policy: "off", publicKey: textOf(key) });
    expect(decideReach({ service: "db", peer: off, hubRelaysEndToEnd: true, pins, isCertified: true }).kind).toBe("e2e");
  });

  it("refuses a malformed key from the hub", () => {
    const decision = decideReach({
      service: "db",
      peer: resolved({ publicKey: "pcpk_short" }),
      hubRelaysEndToEnd: true,
      pins: new MemoryKeyBook(),
    });
    expect(decision).toMatchObject({ kind: "refuse", code: ResetCode.E2E_FAILED });
  });
});

describe("the exposing agent's admission", () => {
  const serverKey = generateKeyPair();
  const laptopKey = generateKeyPair();

  function e2eOpen(
    options: {
      service?: string;
      reacherKey?: ReturnType<typeof generateKeyPair>;
      peer?: OpenRequest["peer"];
      presented?: Buffer;
    } = {},
  ): OpenRequest {
    const service = options.service ?? "db";
    const begun = beginStreamHandshake({
      local: options.reacherKey ?? laptopKey,
      peerPublicKey: serverKey.publicKey,
      parties: { reacher: laptop, exposer: server, service },
      ...(options.presented === undefined ? {} : { presented: options.presented }),
    });
    const request: OpenRequest = { service, e2e: { handshake: begun.firstMessage.toString("base64url") } };
    const peer = "peer" in options ? options.peer : laptop;
    return peer === undefined ? request : { ...request, peer };
  }

  function admit(
    request: OpenRequest,
    policy: "required" | "preferred" | "off",
    pins = new MemoryKeyBook(),
    trust: WorkspaceTrust = NO_WORKSPACE_TRUST,
  ) {
    return admitOpen({ request, policy, self: server, staticKey: serverKey, pins, trust });
  }

  it("with a workspace certificate installed, serves plaintext only to a service it exposed with --e2e off itself", () => {
    const enforcing: WorkspaceTrust = { ...NO_WORKSPACE_TRUST, isEnforcing: () => true };
    const plaintext: OpenRequest = { service: "db", peer: laptop };
    for (const policy of ["preferred", "required"] as const) {
      expect(admit(plaintext, policy, new MemoryKeyBook(), enforcing)).toMatchObject({
        kind: "refuse",
        code: ResetCode.E2E_REQUIRED,
      });
    }
    expect(admit(plaintext, "off", new MemoryKeyBook(), enforcing).kind).toBe("plaintext");
  });

  it("with a workspace certificate installed, admits only a reaching agent presenting one of the same key for its own key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pc-admit-"));
    try {
      const workspace = generateWorkspaceKeyPair();
      const certify = (agentId: string, agentKey: Buffer) =>
        signCertificate(
          workspace.privateKey,
          { workspaceId: "ws-a", workspaceName: "A", agentId, label: agentId, agentKey },
          new Date(),
        );
      const path = join(dir, "workspace-certificate.json");
      const holder = { agentId: server.agentId, workspaceId: server.workspaceId, publicKey: serverKey.publicKey };
      await installCertificate(path, certify(server.agentId, serverKey.publicKey), holder, { isReplacing: false });
      const trust = InstalledWorkspaceTrust.open(path, holder);
      const laptopCertificate = certificatePayload(certify(laptop.agentId, laptopKey.publicKey));

      const certified = admit(e2eOpen({ presented: laptopCertificate }), "preferred", new MemoryKeyBook(), trust);
      expect(certified.kind).toBe("e2e");
      expect(admit(e2eOpen(), "preferred", new MemoryKeyBook(), trust)).toMatchObject({
        kind: "refuse",
        code: ResetCode.E2E_FAILED,
        reason: expect.stringMatching(/presented no workspace certificate/),
      });
      // The laptop's certificate presented with another key (the hub's own) is not the laptop's.
      const impostor = admit(
        e2eOpen({ presented: laptopCertificate, reacherKey: generateKeyPair() }),
        "preferred",
        new MemoryKeyBook(),
        trust,
      );
      expect(impostor).toMatchObject({ kind: "refuse", reason: expect.stringMatching(/did not sign/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers a handshake made for its key, and pins the reaching agent's key", () => {
    const pins = new MemoryKeyBook();
    const admission = admit(e2eOpen(), "preferred", pins);
    expect(admission.kind).toBe("e2e");
    expect(pins.pins.get(laptop.agentId)?.key.equals(laptopKey.publicKey)).toBe(true);
  });

  it("refuses a reaching agent presenting another key than its pin (a hub's own, say)", () => {
    const pins = new MemoryKeyBook();
    expect(admit(e2eOpen(), "preferred", pins).kind).toBe("e2e");
    const admission = admit(e2eOpen({ reacherKey: generateKeyPair() }), "preferred", pins);
    expect(admission).toMatchObject({ kind: "refuse", code: ResetCode.E2E_FAILED });
  });

  it("refuses a handshake bound to another reaching agent or service than the hub names", () => {
    expect(admit(e2eOpen({ peer: { ...laptop, agentId: "agent-other" } }), "preferred")).toMatchObject({
      kind: "refuse",
      code: ResetCode.E2E_FAILED,
    });
    const forOther = { ...e2eOpen({ service: "other" }), service: "db" };
    expect(admit(forOther, "preferred")).toMatchObject({ kind: "refuse", code: ResetCode.E2E_FAILED });
    expect(admit(e2eOpen({ peer: undefined }), "preferred")).toMatchObject({ kind: "refuse", code: ResetCode.E2E_FAILED });
  });

  it("refuses garbage in place of a handshake", () => {
    expect(admit({ service: "db", peer: laptop, e2e: { handshake: "AAAA" } }, "preferred").kind).toBe("refuse");
  });

  it("refuses plaintext under required with the message the issue asks for, serves it under preferred and off", () => {
    const plaintext: OpenRequest = { service: "db", peer: laptop };
    expect(admit(plaintext, "required")).toEqual({
      kind: "refuse",
      code: ResetCode.E2E_REQUIRED,
      reason: "This service requires end-to-end encryption: update the agent",
    });
    expect(admit(plaintext, "preferred").kind).toBe("plaintext");
    expect(admit(plaintext, "off").kind).toBe("plaintext");
    // A public link's stream names no agent.
    expect(admit({ service: "db" }, "preferred").kind).toBe("plaintext");
  });

  it("refuses plaintext from a reaching agent whose key it pinned (a hub stripping the handshake), unless the service is off", () => {
    const pins = new MemoryKeyBook();
    expect(admit(e2eOpen(), "preferred", pins).kind).toBe("e2e");
    expect(admit({ service: "db", peer: laptop }, "preferred", pins)).toMatchObject({
      kind: "refuse",
      code: ResetCode.E2E_REQUIRED,
    });
    expect(admit({ service: "db", peer: laptop }, "off", pins).kind).toBe("plaintext");
  });

  it("keeps the OPEN it decides on inside the protocol's bounds", () => {
    expect(encodeOpen(3, e2eOpen()).length).toBeLessThan(1024);
  });
});
