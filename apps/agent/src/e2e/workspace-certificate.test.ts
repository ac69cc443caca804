// The workspace key's certificates (issue 19's "no trust in the hub at all"): what a signature
// covers, and that every text form refuses what was altered, cut or made up, with a message.
import { describe, expect, it } from "vitest";
import { isConnectError } from "../errors.js";
import { generateKeyPair } from "./noise/index.js";
import {
  CERTIFICATE_PAYLOAD_BYTES,
  certificatePayload,
  decodeCertificate,
  decodeRequest,
  decodeWorkspaceKey,
  encodeCertificate,
  encodeRequest,
  encodeWorkspaceKey,
  generateWorkspaceKeyPair,
  isSignedBy,
  signatureOfPayload,
  signCertificate,
  workspaceKeyObject,
  workspacePublicKeyOf,
} from "./workspace-certificate.js";

const request = {
  workspaceId: "ws-3f2a8c1e",
  workspaceName: "Acme",
  agentId: "8c1f0f5e-7a0b-4d5e-9f00-000000000001",
  label: "db-server",
  agentKey: generateKeyPair().publicKey,
};
const issuedAt = new Date("2026-12-06T12:00:00.000Z");

/** The base64url JSON body of a pccert_/pcreq_ text, edited, and put back. */
function editText(text: string, prefix: string, edit: (body: Record<string, unknown>) => void): string {
  const body = JSON.parse(Buffer.from(text.slice(prefix.length), "base64url").toString("utf8"));
  edit(body);
  return `${prefix}${Buffer.from(JSON.stringify(body)).toString("base64url")}`;
}

function expectInvalidInput(action: () => unknown, message: RegExp): void {
  try {
    action();
  } catch (error) {
    expect(isConnectError(error, "INVALID_INPUT"), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error("expected an INVALID_INPUT error");
}

describe("workspace keys and agent certificates", () => {
  it("signs a certificate that verifies for exactly its workspace, agent and key", () => {
    const workspace = generateWorkspaceKeyPair();
    expect(workspacePublicKeyOf(workspace.privateKey)).toEqual(workspace.publicKey);
    const certificate = signCertificate(workspace.privateKey, request, issuedAt);
    expect(certificate.workspaceKey).toEqual(workspace.publicKey);
    const key = workspaceKeyObject(workspace.publicKey);
    expect(isSignedBy(key, request, certificate.signature)).toBe(true);
    // Any other subject: another agent, another workspace, another end-to-end key.
    expect(isSignedBy(key, { ...request, agentId: "8c1f0f5e-7a0b-4d5e-9f00-000000000002" }, certificate.signature)).toBe(false);
    expect(isSignedBy(key, { ...request, workspaceId: "ws-other" }, certificate.signature)).toBe(false);
    expect(isSignedBy(key, { ...request, agentKey: generateKeyPair().publicKey }, certificate.signature)).toBe(false);
    // Fields are not concatenated: moving a character from one to the next changes the statement.
    expect(
      isSignedBy(key, { ...request, workspaceId: "ws-3f2a8c1", agentId: `e${request.agentId}` }, certificate.signature),
    ).toBe(false);
    // Another workspace key, or a signature that is junk, never passes (and never throws).
    expect(isSignedBy(workspaceKeyObject(generateWorkspaceKeyPair().publicKey), request, certificate.signature)).toBe(false);
    expect(isSignedBy(key, request, Buffer.alloc(64))).toBe(false);
    expect(isSignedBy(key, request, certificate.signature.subarray(1))).toBe(false);
  });

  it("round-trips requests and certificates through their text forms", () => {
    const requestText = encodeRequest(request);
    expect(requestText).toMatch(/^pcreq_[A-Za-z0-9_-]+$/);
    expect(decodeRequest(`  ${requestText}\n`)).toEqual(request);
    const workspace = generateWorkspaceKeyPair();
    const certificate = signCertificate(workspace.privateKey, decodeRequest(requestText), issuedAt);
    const text = encodeCertificate(certificate);
    expect(text).toMatch(/^pccert_[A-Za-z0-9_-]+$/);
    expect(decodeCertificate(text)).toEqual(certificate);
    expect(decodeWorkspaceKey(encodeWorkspaceKey(workspace.publicKey))).toEqual(workspace.publicKey);
  });

  it("refuses a certificate text whose fields were edited, whose signature is another's, or that is cut, junk or huge", () => {
    const workspace = generateWorkspaceKeyPair();
    const text = encodeCertificate(signCertificate(workspace.privateKey, request, issuedAt));
    const otherKey = encodeWorkspaceKey(generateWorkspaceKeyPair().publicKey);
    expectInvalidInput(
      () => decodeCertificate(editText(text, "pccert_", (body) => Object.assign(body, { agentId: "someone-else" }))),
      /signature does not match/,
    );
    expectInvalidInput(
      () => decodeCertificate(editText(text, "pccert_", (body) => Object.assign(body, { workspaceKey: otherKey }))),
      /signature does not match/,
    );
    expectInvalidInput(() => decodeCertificate(text.slice(0, 60)), /cut or altered|malformed|expected/i);
    expectInvalidInput(() => decodeCertificate(`pcreq_${text.slice(7)}`), /does not start with pccert_/);
    expectInvalidInput(() => decodeCertificate(`pccert_${"A".repeat(10_000)}`), /longer than/);
    expectInvalidInput(
      () => decodeCertificate(editText(text, "pccert_", (body) => Object.assign(body, { signature: "short" }))),
      /signature is malformed/,
    );
    expectInvalidInput(
      () => decodeRequest(editText(encodeRequest(request), "pcreq_", (body) => Object.assign(body, { agentKey: "pcpk_x" }))),
      /agent key is malformed/,
    );
  });

  it("presents a certificate in a handshake payload of fixed size, and reads nothing else as one", () => {
    const certificate = signCertificate(generateWorkspaceKeyPair().privateKey, request, issuedAt);
    const payload = certificatePayload(certificate);
    expect(payload).toHaveLength(CERTIFICATE_PAYLOAD_BYTES);
    expect(signatureOfPayload(payload)).toEqual(certificate.signature);
    expect(signatureOfPayload(Buffer.alloc(0))).toBeUndefined();
    expect(signatureOfPayload(Buffer.concat([Buffer.from([2]), certificate.signature]))).toBeUndefined();
    expect(signatureOfPayload(Buffer.concat([payload, Buffer.from([0])]))).toBeUndefined();
  });
});
