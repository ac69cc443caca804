import type { KeyObject } from "node:crypto";
import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { withFileLock } from "../config/file-lock.js";
import { FileChangeWatch } from "../config/file-version.js";
import { writeJsonFileAtomic } from "../config/json-file.js";
import { ConnectError } from "../errors.js";
import { RecentMap } from "./noise/recent-map.js";
import type { PeerIdentity } from "./peer-key-book.js";
import {
  type AgentCertificate,
  certificatePayload,
  decodeCertificate,
  encodeCertificate,
  isSignedBy,
  signatureOfPayload,
  workspaceKeyObject,
} from "./workspace-certificate.js";

/** What an agent's handshake partner amounts to under its workspace key. */
export type PeerCertificateCheck =
  /** This agent has no certificate installed: peers are held to their pins only, as before. */
  | { kind: "not-enforced" }
  /** Of this workspace, certified by its key. */
  | { kind: "certified" }
  /** Of another workspace (a share), and a person compared safety numbers with it. */
  | { kind: "verified-outsider" }
  | { kind: "refused"; reason: string };

/**
 * The workspace key's part in each end-to-end handshake: what this agent presents, and whether
 * the peer's presentation is good enough. The stream opens ask it per stream, from memory.
 */
export interface WorkspaceTrust {
  /**
   * Whether a certificate is installed. Then this agent never reaches anyone in plaintext, since
   * "no key" and "policy off" are only the hub's word, and serves plaintext only to services it
   * exposed with --e2e off itself.
   */
  isEnforcing(): boolean;
  /** The handshake payload this agent sends: its certificate, or empty without one. */
  presented(): Buffer;
  check(
    peer: PeerIdentity,
    peerKey: Buffer,
    presented: Buffer,
    context: { service: string; isPinVerified: boolean },
  ): PeerCertificateCheck;
}

/** A peer refused for its certificate: what the agent's log and the hub's audit log hear of (once per peer key). */
export interface CertificateRefusal {
  peer: PeerIdentity;
  peerKey: Buffer;
  service: string;
  reason: string;
}

const EMPTY = Buffer.alloc(0);

/** For an agent without a certificates file at all (tests, the SDK without a config directory). */
export const NO_WORKSPACE_TRUST: WorkspaceTrust = {
  isEnforcing: () => false,
  presented: () => EMPTY,
  check: () => ({ kind: "not-enforced" }),
};

/** This agent, as a certificate must name it. */
export interface CertificateHolder {
  agentId: string;
  workspaceId: string;
  /** Its raw X25519 static public key. */
  publicKey: Buffer;
}

const installedFileSchema = z.object({
  version: z.literal(1),
  certificate: z.string(),
  installedAt: z.string(),
});

/** Why `certificate` cannot be this agent's, or undefined when it is. */
export function mismatchWith(certificate: AgentCertificate, holder: CertificateHolder): string | undefined {
  if (certificate.workspaceId !== holder.workspaceId) {
    return `it is for workspace ${certificate.workspaceId}, and this agent is in workspace ${holder.workspaceId}`;
  }
  if (certificate.agentId !== holder.agentId) {
    return `it is for agent ${certificate.label} (${certificate.agentId}), and this is agent ${holder.agentId}`;
  }
  if (!timingSafeEqual(certificate.agentKey, holder.publicKey)) {
    return "it certifies another end-to-end key than this agent's (was e2e-key.json replaced since the request?)";
  }
  return undefined;
}

/** The certificate installed in `path`, or undefined without one; anything unusable is an error naming the file. */
export function readInstalledCertificate(path: string, holder: CertificateHolder): AgentCertificate | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConnectError("CONFIG_UNREADABLE", `Cannot read ${path}: ${(error as Error).message}`);
  }
  const unusable = (why: string) =>
    new ConnectError(
      "CONFIG_UNREADABLE",
      `${path} ${why}: install a new certificate with connect workspace-key install, or remove it with connect workspace-key remove (it was left untouched)`,
    );
  let file: z.infer<typeof installedFileSchema>;
  try {
    file = installedFileSchema.parse(JSON.parse(text));
  } catch {
    throw unusable("is not a certificates file");
  }
  let certificate: AgentCertificate;
  try {
    certificate = decodeCertificate(file.certificate);
  } catch (error) {
    throw unusable(`holds an unusable certificate (${(error as Error).message})`);
  }
  const mismatch = mismatchWith(certificate, holder);
  if (mismatch !== undefined) throw unusable(`does not fit this agent: ${mismatch}`);
  return certificate;
}

/**
 * Installs `certificate` for `holder` in `path` (owner-only). A certificate from another workspace
 * key than the installed one changes whom this agent trusts, so it needs `isReplacing`.
 */
export async function installCertificate(
  path: string,
  certificate: AgentCertificate,
  holder: CertificateHolder,
  options: { isReplacing: boolean; now?: Date },
): Promise<{ previous: AgentCertificate | undefined }> {
  const mismatch = mismatchWith(certificate, holder);
  if (mismatch !== undefined) throw new ConnectError("INVALID_INPUT", `That certificate is not this agent's: ${mismatch}`);
  return withFileLock(path, async () => {
    let previous: AgentCertificate | undefined;
    try {
      previous = readInstalledCertificate(path, holder);
    } catch {
      // An unusable file is what installing a good certificate repairs.
      previous = undefined;
    }
    if (previous !== undefined && !previous.workspaceKey.equals(certificate.workspaceKey) && !options.isReplacing) {
      throw new ConnectError(
        "INVALID_INPUT",
        "That certificate is signed by another workspace key than the one installed: this agent would stop trusting agents certified by the old key. If the workspace key really changed, run again with --replace",
      );
    }
    await writeJsonFileAtomic(
      path,
      { version: 1, certificate: encodeCertificate(certificate), installedAt: (options.now ?? new Date()).toISOString() },
      0o600,
    );
    return { previous };
  });
}

export interface InstalledTrustOptions {
  onRefused?(refusal: CertificateRefusal): void;
  /** Reading a changed file failed: what was installed stays in force. */
  onFileError?(error: unknown): void;
}

interface Installed {
  certificate: AgentCertificate;
  payload: Buffer;
  workspaceKey: KeyObject;
}

/**
 * The running agent's side of the workspace key, over workspace-certificate.json: with a
 * certificate installed it presents it in every handshake and accepts only peers of its workspace
 * certified by the same key (and peers of other workspaces only once verified by a person). An
 * install or removal in another process is picked up on the next stream, as the pins are.
 */
export class InstalledWorkspaceTrust implements WorkspaceTrust {
  #installed: Installed | undefined;
  readonly #watch: FileChangeWatch;
  /** Signatures already checked, by agent, key and signature: a stream open does not verify again. */
  readonly #verified = new RecentMap<string, boolean>(256);

  /** Peer keys whose refusal was reported: a client retrying in a loop is reported once. */
  readonly #reported = new RecentMap<string, true>(256);

  private constructor(
    private readonly path: string,
    private readonly holder: CertificateHolder,
    private readonly options: InstalledTrustOptions,
  ) {
    this.#watch = new FileChangeWatch(path);
    this.#installed = installedFrom(readInstalledCertificate(path, holder));
  }

  /** Throws (naming the file) when the file is there but unusable: an agent must not start half-trusting. */
  static open(path: string, holder: CertificateHolder, options: InstalledTrustOptions = {}): InstalledWorkspaceTrust {
    return new InstalledWorkspaceTrust(path, holder, options);
  }

  /** The installed certificate, for connect status. */
  certificate(): AgentCertificate | undefined {
    this.#refresh();
    return this.#installed?.certificate;
  }

  isEnforcing(): boolean {
    this.#refresh();
    return this.#installed !== undefined;
  }

  presented(): Buffer {
    this.#refresh();
    return this.#installed?.payload ?? EMPTY;
  }

  check(
    peer: PeerIdentity,
    peerKey: Buffer,
    presented: Buffer,
    context: { service: string; isPinVerified: boolean },
  ): PeerCertificateCheck {
    this.#refresh();
    const installed = this.#installed;
    if (installed === undefined) return { kind: "not-enforced" };
    const checked = this.#judge(installed, peer, peerKey, presented, context.isPinVerified);
    if (checked.kind === "refused") {
      const reportKey = `${peer.agentId}\u0000${peerKey.toString("base64url")}`;
      if (this.#reported.get(reportKey) === undefined) {
        this.#reported.set(reportKey, true);
        this.options.onRefused?.({ peer, peerKey, service: context.service, reason: checked.reason });
      }
    }
    return checked;
  }

  #judge(
    installed: Installed,
    peer: PeerIdentity,
    peerKey: Buffer,
    presented: Buffer,
    isPinVerified: boolean,
  ): PeerCertificateCheck {
    const name = `${peer.label} (${peer.agentId})`;
    if (peer.workspaceId !== installed.certificate.workspaceId) {
      if (isPinVerified) return { kind: "verified-outsider" };
      return {
        kind: "refused",
        reason: `Agent ${name} is in another workspace, which this workspace's key cannot vouch for, and its key is not verified: compare safety numbers with connect verify ${peer.agentId} and confirm with --confirm, then retry`,
      };
    }
    const signature = signatureOfPayload(presented);
    if (signature === undefined) {
      return {
        kind: "refused",
        reason: `Agent ${name} presented no workspace certificate, and this agent accepts only keys certified by the workspace key: run connect workspace-key request on that agent's machine and have an owner sign it`,
      };
    }
    const cacheKey = `${peer.agentId}\u0000${peerKey.toString("base64url")}\u0000${signature.toString("base64url")}`;
    let isCertified = this.#verified.get(cacheKey);
    if (isCertified === undefined) {
      isCertified = isSignedBy(
        installed.workspaceKey,
        { workspaceId: peer.workspaceId, agentId: peer.agentId, agentKey: peerKey },
        signature,
      );
      this.#verified.set(cacheKey, isCertified);
    }
    if (!isCertified) {
      return {
        kind: "refused",
        reason: `Agent ${name} presented a certificate that this workspace's key did not sign for its key: someone may be intercepting, or that agent was certified by another workspace key`,
      };
    }
    return { kind: "certified" };
  }

  #refresh(): void {
    if (!this.#watch.hasChanged()) return;
    try {
      this.#installed = installedFrom(readInstalledCertificate(this.path, this.holder));
    } catch (error) {
      // Half-written by hand: keep enforcing what was installed, say so, look again on the next change.
      this.options.onFileError?.(error);
    }
  }
}

function installedFrom(certificate: AgentCertificate | undefined): Installed | undefined {
  if (certificate === undefined) return undefined;
  return { certificate, payload: certificatePayload(certificate), workspaceKey: workspaceKeyObject(certificate.workspaceKey) };
}
