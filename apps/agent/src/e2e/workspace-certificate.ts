import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { decodeE2ePublicKey, decodeKeyText, encodeE2ePublicKey } from "@private-connect/protocol";
import { z } from "zod";
import { ConnectError } from "../errors.js";

/**
 * A workspace key (Ed25519) and the certificates it signs: "agent A of workspace W holds the
 * end-to-end key K". The key is made and kept on an owner's machine, never sent to the hub, so a
 * hub that hands out its own end-to-end key for an agent cannot make a certificate for it.
 *
 * Text forms are prefixed so a person (and the log scrubber) can tell them apart:
 *   pcwk_   the workspace key's public half     pcwsk_  its private half (owner's file only)
 *   pcreq_  an agent's request to be certified  pccert_ a certificate, to install on that agent
 */
export const WORKSPACE_KEY_PREFIX = "pcwk_";
export const WORKSPACE_SECRET_PREFIX = "pcwsk_";
const CERTIFICATE_PREFIX = "pccert_";
const REQUEST_PREFIX = "pcreq_";
const ED25519_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
/** Long enough for any honest request or certificate (ids, a label), short enough to refuse junk cheaply. */
const MAX_TEXT_LENGTH = 4096;

/** What a handshake payload carries: a version byte, then the signature (the rest the peer knows). */
const PAYLOAD_VERSION = 1;
export const CERTIFICATE_PAYLOAD_BYTES = 1 + SIGNATURE_BYTES;

/** Who a certificate speaks of. */
export interface CertificateSubject {
  workspaceId: string;
  agentId: string;
  /** The agent's raw 32-byte X25519 static public key. */
  agentKey: Buffer;
}

export interface CertificateRequest extends CertificateSubject {
  label: string;
  workspaceName: string;
}

export interface AgentCertificate extends CertificateSubject {
  label: string;
  /** The raw 32-byte Ed25519 public key that signed it. */
  workspaceKey: Buffer;
  signature: Buffer;
  issuedAt: string;
}

/**
 * The exact bytes a workspace key signs. Domain-separated, so a signature made for anything else
 * never passes for a certificate, and unambiguous (a JSON array), so no two subjects share bytes.
 */
function statementOf(subject: CertificateSubject): Buffer {
  const fields = [subject.workspaceId, subject.agentId, encodeE2ePublicKey(subject.agentKey)];
  return Buffer.from(`private-connect agent certificate v1\n${JSON.stringify(fields)}`, "utf8");
}

export function encodeWorkspaceKey(raw: Buffer): string {
  return `${WORKSPACE_KEY_PREFIX}${raw.toString("base64url")}`;
}

export function decodeWorkspaceKey(text: string): Buffer | undefined {
  return decodeKeyText(text, WORKSPACE_KEY_PREFIX, ED25519_KEY_BYTES);
}

export function encodeWorkspaceSecret(raw: Buffer): string {
  return `${WORKSPACE_SECRET_PREFIX}${raw.toString("base64url")}`;
}

export function decodeWorkspaceSecret(text: string): Buffer | undefined {
  return decodeKeyText(text, WORKSPACE_SECRET_PREFIX, ED25519_KEY_BYTES);
}

/** A new workspace key pair, as raw 32-byte halves (the private half is the Ed25519 seed). */
export function generateWorkspaceKeyPair(): { publicKey: Buffer; privateKey: Buffer } {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  if (typeof jwk.d !== "string" || typeof jwk.x !== "string") throw new Error("ed25519 key without d or x");
  return { publicKey: Buffer.from(jwk.x, "base64url"), privateKey: Buffer.from(jwk.d, "base64url") };
}

/** The public half of a raw private seed, for checking a key file holds a matching pair. */
export function workspacePublicKeyOf(privateKey: Buffer): Buffer {
  const jwk = createPublicKey(privateKeyObject(privateKey)).export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new Error("ed25519 key without x");
  return Buffer.from(jwk.x, "base64url");
}

/** PKCS #8 for an Ed25519 seed is a fixed 16-byte prefix and the seed (RFC 8410), so no x is needed. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function privateKeyObject(privateKey: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, privateKey]), format: "der", type: "pkcs8" });
}

/** The public half as node:crypto verifies with it. */
export function workspaceKeyObject(publicKey: Buffer): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey.toString("base64url") }, format: "jwk" });
}

/** Signs the certificate for `request` with the workspace key's private half. */
export function signCertificate(privateKey: Buffer, request: CertificateRequest, issuedAt: Date): AgentCertificate {
  const signature = sign(null, statementOf(request), privateKeyObject(privateKey));
  return {
    workspaceId: request.workspaceId,
    agentId: request.agentId,
    agentKey: request.agentKey,
    label: request.label,
    workspaceKey: workspacePublicKeyOf(privateKey),
    signature,
    issuedAt: issuedAt.toISOString(),
  };
}

/** Whether `signature` is the workspace key's over `subject`. Never throws on junk. */
export function isSignedBy(workspaceKey: KeyObject, subject: CertificateSubject, signature: Buffer): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, statementOf(subject), workspaceKey, signature);
  } catch {
    return false;
  }
}

/** The handshake payload that presents a certificate: its signature, behind a version byte. */
export function certificatePayload(certificate: AgentCertificate): Buffer {
  return Buffer.concat([Buffer.from([PAYLOAD_VERSION]), certificate.signature]);
}

/** The signature a handshake payload presents, or undefined when it presents none (or junk). */
export function signatureOfPayload(payload: Buffer): Buffer | undefined {
  if (payload.length !== CERTIFICATE_PAYLOAD_BYTES || payload[0] !== PAYLOAD_VERSION) return undefined;
  return payload.subarray(1);
}

const rawKeyText = (check: (text: string) => Buffer | undefined, what: string) =>
  z.string().transform((text, context) => {
    const raw = check(text);
    if (raw === undefined) {
      context.addIssue({ code: "custom", message: `${what} is malformed` });
      return z.NEVER;
    }
    return raw;
  });

const signatureText = z.string().transform((text, context) => {
  const raw = Buffer.from(text, "base64url");
  if (raw.length !== SIGNATURE_BYTES || raw.toString("base64url") !== text) {
    context.addIssue({ code: "custom", message: "the signature is malformed" });
    return z.NEVER;
  }
  return raw;
});

const requestSchema = z.object({
  v: z.literal(1),
  workspaceId: z.string().min(1).max(100),
  workspaceName: z.string().max(200),
  agentId: z.string().min(1).max(100),
  label: z.string().max(200),
  agentKey: rawKeyText(decodeE2ePublicKey, "the agent key"),
});

const certificateSchema = z.object({
  v: z.literal(1),
  workspaceId: z.string().min(1).max(100),
  agentId: z.string().min(1).max(100),
  label: z.string().max(200),
  agentKey: rawKeyText(decodeE2ePublicKey, "the agent key"),
  workspaceKey: rawKeyText(decodeWorkspaceKey, "the workspace key"),
  signature: signatureText,
  issuedAt: z.iso.datetime(),
});

function encodeText(prefix: string, body: object): string {
  return `${prefix}${Buffer.from(JSON.stringify(body), "utf8").toString("base64url")}`;
}

function decodeText<T>(text: string, prefix: string, schema: z.ZodType<T>, what: string, hint: string): T {
  const trimmed = text.trim();
  const refuse = (why: string) => new ConnectError("INVALID_INPUT", `That is not ${what}: ${why}. ${hint}`);
  if (trimmed.length > MAX_TEXT_LENGTH) throw refuse(`it is longer than ${MAX_TEXT_LENGTH} characters`);
  if (!trimmed.startsWith(prefix)) throw refuse(`it does not start with ${prefix}`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(trimmed.slice(prefix.length), "base64url").toString("utf8"));
  } catch {
    throw refuse("it was cut or altered on the way (copy the whole line again)");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw refuse(parsed.error.issues[0]?.message ?? "its fields are malformed");
  return parsed.data;
}

export function encodeRequest(request: CertificateRequest): string {
  return encodeText(REQUEST_PREFIX, {
    v: 1,
    workspaceId: request.workspaceId,
    workspaceName: request.workspaceName,
    agentId: request.agentId,
    label: request.label,
    agentKey: encodeE2ePublicKey(request.agentKey),
  });
}

export function decodeRequest(text: string): CertificateRequest {
  const { v: _version, ...request } = decodeText(
    text,
    REQUEST_PREFIX,
    requestSchema,
    "a certificate request",
    "Run connect workspace-key request on the agent's machine and copy the pcreq_ line it prints",
  );
  return request;
}

export function encodeCertificate(certificate: AgentCertificate): string {
  return encodeText(CERTIFICATE_PREFIX, {
    v: 1,
    workspaceId: certificate.workspaceId,
    agentId: certificate.agentId,
    label: certificate.label,
    agentKey: encodeE2ePublicKey(certificate.agentKey),
    workspaceKey: encodeWorkspaceKey(certificate.workspaceKey),
    signature: certificate.signature.toString("base64url"),
    issuedAt: certificate.issuedAt,
  });
}

/** A certificate's text, checked for shape and for its own signature (a forged or altered one is refused). */
export function decodeCertificate(text: string): AgentCertificate {
  const { v: _version, ...certificate } = decodeText(
    text,
    CERTIFICATE_PREFIX,
    certificateSchema,
    "a certificate",
    "Copy the whole pccert_ line connect workspace-key sign printed",
  );
  if (!isSignedBy(workspaceKeyObject(certificate.workspaceKey), certificate, certificate.signature)) {
    throw new ConnectError(
      "INVALID_INPUT",
      "That certificate's signature does not match its contents: it was altered, or signed for another agent. Ask the owner to sign this agent's request again",
    );
  }
  return certificate;
}
