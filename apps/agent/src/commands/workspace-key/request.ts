import { BaseCommand } from "../../cli/base-command.js";
import { fingerprintPublicKey } from "../../e2e/safety-number.js";
import { loadOrCreateStaticKey } from "../../e2e/static-key.js";
import { encodeRequest } from "../../e2e/workspace-certificate.js";

/** What `connect workspace-key request --json` returns. */
export interface CertificateRequestResult {
  request: string;
  agentId: string;
  label: string;
  workspaceId: string;
  publicKey: string;
  fingerprint: string;
}

export default class WorkspaceKeyRequest extends BaseCommand<typeof WorkspaceKeyRequest> {
  static override summary = "print this agent's request for a certificate from the workspace key";
  static override description =
    "Prints one pcreq_ line naming this agent, its workspace and its end-to-end public key. Carry it to the owner who holds the workspace key by a way the hub has no part in (in person, a chat you trust, a file you copy yourself): they sign it with connect workspace-key sign and give back a pccert_ line for connect workspace-key install. The line holds no secret.";
  static override enableJsonFlag = true;
  static override examples = [
    "<%= config.bin %> workspace-key request",
    "<%= config.bin %> workspace-key request --json --config ~/.private-connect-server",
  ];

  async run(): Promise<CertificateRequestResult> {
    const identity = await this.requireIdentity();
    // The same key connect up makes on its first start: a request before the first start is fine.
    const staticKey = await loadOrCreateStaticKey(this.paths.e2eKey);
    const request = encodeRequest({
      workspaceId: identity.workspace.id,
      workspaceName: identity.workspace.name,
      agentId: identity.agentId,
      label: identity.label,
      agentKey: staticKey.publicKey,
    });
    const fingerprint = fingerprintPublicKey(staticKey.publicKeyText);
    if (!this.jsonEnabled()) {
      // The request itself on a line of its own, so it can be copied (or piped) whole.
      this.logToStderr(
        `Certificate request of agent ${identity.label} (${identity.agentId}), key fingerprint ${fingerprint}. Give this line to an owner for connect workspace-key sign:`,
      );
      this.log(request);
    }
    return {
      request,
      agentId: identity.agentId,
      label: identity.label,
      workspaceId: identity.workspace.id,
      publicKey: staticKey.publicKeyText,
      fingerprint,
    };
  }
}
