// The running agent's side of the workspace key: with a certificate installed, which peers it
// accepts, what it presents, and how an install or removal in another process takes effect.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isConnectError } from "../errors.js";
import { generateKeyPair } from "./noise/index.js";
import { type AgentCertificate, certificatePayload, generateWorkspaceKeyPair, signCertificate } from "./workspace-certificate.js";
import { type CertificateRefusal, InstalledWorkspaceTrust, installCertificate } from "./workspace-trust.js";

const WORKSPACE = "ws-acme";
const issuedAt = new Date("2026-12-06T12:00:00.000Z");
const workspaceKey = generateWorkspaceKeyPair();

function makeAgent(agentId: string, label: string, workspaceId = WORKSPACE) {
  const key = generateKeyPair().publicKey;
  const holder = { agentId, workspaceId, publicKey: key };
  const peer = { agentId, label, workspaceId };
  const certify = (signer = workspaceKey): AgentCertificate =>
    signCertificate(signer.privateKey, { workspaceId, workspaceName: "Acme", agentId, label, agentKey: key }, issuedAt);
  return { key, holder, peer, certify };
}

const server = makeAgent("8c1f0f5e-7a0b-4d5e-9f00-000000000001", "db-server");
const laptop = makeAgent("8c1f0f5e-7a0b-4d5e-9f00-000000000002", "laptop");
const contractor = makeAgent("8c1f0f5e-7a0b-4d5e-9f00-000000000003", "contractor", "ws-other");
const context = { service: "db", isPinVerified: false };

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-trust-"));
  path = join(dir, "workspace-certificate.json");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("a workspace certificate installed on an agent", () => {
  it("without one: presents nothing and holds peers to their pins only", () => {
    const trust = InstalledWorkspaceTrust.open(path, server.holder);
    expect(trust.presented()).toHaveLength(0);
    expect(trust.check(laptop.peer, laptop.key, Buffer.alloc(0), context)).toEqual({ kind: "not-enforced" });
  });

  it("with one: presents it, accepts a peer certified by the same key and refuses any other, reporting each once", async () => {
    await installCertificate(path, server.certify(), server.holder, { isReplacing: false });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const refusals: CertificateRefusal[] = [];
    const trust = InstalledWorkspaceTrust.open(path, server.holder, { onRefused: (refusal) => refusals.push(refusal) });
    expect(trust.presented()).toEqual(certificatePayload(server.certify()));

    const certified = certificatePayload(laptop.certify());
    expect(trust.check(laptop.peer, laptop.key, certified, context)).toEqual({ kind: "certified" });
    expect(trust.check(laptop.peer, laptop.key, certified, context)).toEqual({ kind: "certified" });

    // No certificate at all; one for another key (the hub's own, say); one from another workspace key.
    const none = trust.check(laptop.peer, laptop.key, Buffer.alloc(0), context);
    expect(none).toMatchObject({
      kind: "refused",
      reason: expect.stringMatching(/presented no workspace certificate.*connect workspace-key request/),
    });
    const impostorKey = generateKeyPair().publicKey;
    expect(trust.check(laptop.peer, impostorKey, certified, context)).toMatchObject({
      kind: "refused",
      reason: expect.stringMatching(/did not sign/),
    });
    const otherSigner = generateWorkspaceKeyPair();
    const mallory = makeAgent("8c1f0f5e-7a0b-4d5e-9f00-000000000004", "mallory");
    expect(trust.check(mallory.peer, mallory.key, certificatePayload(mallory.certify(otherSigner)), context).kind).toBe(
      "refused",
    );
    // A certificate is for one agent id: the server's own, presented by the laptop's key, fails.
    expect(trust.check(laptop.peer, server.key, trust.presented(), context).kind).toBe("refused");

    expect(refusals.map((r) => [r.peer.agentId, r.service])).toEqual([
      [laptop.peer.agentId, "db"],
      [laptop.peer.agentId, "db"],
      [mallory.peer.agentId, "db"],
      [laptop.peer.agentId, "db"],
    ]);
    // The same refused key again (a client retrying) is refused without another report.
    expect(trust.check(laptop.peer, impostorKey, certified, context).kind).toBe("refused");
    expect(refusals).toHaveLength(4);
  });

  it("accepts an agent of another workspace (a share) only once a person verified its pin", async () => {
    await installCertificate(path, server.certify(), server.holder, { isReplacing: false });
    const trust = InstalledWorkspaceTrust.open(path, server.holder);
    expect(trust.check(contractor.peer, contractor.key, Buffer.alloc(0), context)).toMatchObject({
      kind: "refused",
      reason: expect.stringMatching(/another workspace.*connect verify/),
    });
    expect(trust.check(contractor.peer, contractor.key, Buffer.alloc(0), { ...context, isPinVerified: true })).toEqual({
      kind: "verified-outsider",
    });
  });

  it("installs only a certificate of this agent's own key, id and workspace, and asks before a new workspace key", async () => {
    const refuse = async (certificate: AgentCertificate, message: RegExp) => {
      const error = await installCertificate(path, certificate, server.holder, { isReplacing: false }).catch((e: unknown) => e);
      expect(isConnectError(error, "INVALID_INPUT"), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
    };
    await refuse(laptop.certify(), /for agent laptop/);
    await refuse({ ...server.certify(), agentKey: laptop.key }, /another end-to-end key/);
    await refuse({ ...server.certify(), workspaceId: "ws-other" }, /for workspace ws-other/);
    await expect(readFile(path)).rejects.toMatchObject({ code: "ENOENT" });

    expect((await installCertificate(path, server.certify(), server.holder, { isReplacing: false })).previous).toBeUndefined();
    const rotated = generateWorkspaceKeyPair();
    await refuse(server.certify(rotated), /another workspace key.*--replace/);
    const replaced = await installCertificate(path, server.certify(rotated), server.holder, { isReplacing: true });
    expect(replaced.previous?.workspaceKey).toEqual(workspaceKey.publicKey);
  });

  it("picks up an install and a removal made by another process on the next check, and keeps enforcing through a broken edit", async () => {
    const errors: unknown[] = [];
    const trust = InstalledWorkspaceTrust.open(path, server.holder, { onFileError: (error) => errors.push(error) });
    expect(trust.check(laptop.peer, laptop.key, Buffer.alloc(0), context).kind).toBe("not-enforced");
    await installCertificate(path, server.certify(), server.holder, { isReplacing: false });
    expect(trust.check(laptop.peer, laptop.key, Buffer.alloc(0), context).kind).toBe("refused");

    await writeFile(path, "{ half-edited");
    expect(trust.check(laptop.peer, laptop.key, Buffer.alloc(0), context).kind).toBe("refused");
    expect(errors).toHaveLength(1);

    await rm(path);
    expect(trust.check(laptop.peer, laptop.key, Buffer.alloc(0), context).kind).toBe("not-enforced");
    expect(trust.presented()).toHaveLength(0);
  });

  it("refuses to start on a certificates file that does not fit this agent, naming the file", async () => {
    await installCertificate(path, server.certify(), server.holder, { isReplacing: false });
    const reinstalled = { ...server.holder, publicKey: generateKeyPair().publicKey };
    let error: unknown;
    try {
      InstalledWorkspaceTrust.open(path, reinstalled);
    } catch (caught) {
      error = caught;
    }
    expect(isConnectError(error, "CONFIG_UNREADABLE"), String(error)).toBe(true);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(/another end-to-end key.*connect workspace-key remove/);
  });
});
