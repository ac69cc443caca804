import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import { readStaticKey } from "../../e2e/static-key.js";
import { decodeCertificate, encodeWorkspaceKey } from "../../e2e/workspace-certificate.js";
import { installCertificate } from "../../e2e/workspace-trust.js";
import { ConnectError } from "../../errors.js";

/** What `connect workspace-key install --json` returns. */
export interface InstalledCertificateResult {
  agentId: string;
  workspaceKey: string;
  issuedAt: string;
  /** The workspace key of the certificate it replaced, if any. */
  previousWorkspaceKey: string | null;
}

export default class WorkspaceKeyInstall extends BaseCommand<typeof WorkspaceKeyInstall> {
  static override summary = "install this agent's certificate: from then on it accepts only certified peers";
  static override description =
    "Takes the pccert_ line an owner made with connect workspace-key sign, checks that it certifies this agent's own end-to-end key and that its signature holds, and keeps it (workspace-certificate.json, owner-only). From then on this agent presents it in every end-to-end handshake and accepts a peer of its workspace only if the same workspace key certified that peer's key; a peer of another workspace (a share) only once its pin is verified with connect verify. A running agent picks it up on its next stream. A certificate from another workspace key than the installed one needs --replace.";
  static override enableJsonFlag = true;
  static override args = {
    certificate: Args.string({ description: "the pccert_ line from connect workspace-key sign", required: true }),
  };
  static override flags = {
    replace: Flags.boolean({
      summary: "Replace a certificate from another workspace key (the workspace key was changed).",
      default: false,
    }),
  };
  static override examples = [
    "<%= config.bin %> workspace-key install pccert_eyJ2IjoxLCJ3b3Jrc3BhY2VJZCI6...",
    '<%= config.bin %> workspace-key install "$(cat server.cert)" --config ~/.private-connect-server',
  ];

  async run(): Promise<InstalledCertificateResult> {
    const identity = await this.requireIdentity();
    const staticKey = await readStaticKey(this.paths.e2eKey);
    if (staticKey === undefined) {
      throw new ConnectError(
        "NOT_REGISTERED",
        `This machine has no end-to-end key in ${this.paths.dir}: the certificate must be for a key made here (connect workspace-key request makes it)`,
      );
    }
    const certificate = decodeCertificate(this.args.certificate);
    const { previous } = await installCertificate(
      this.paths.workspaceCertificate,
      certificate,
      { agentId: identity.agentId, workspaceId: identity.workspace.id, publicKey: staticKey.publicKey },
      { isReplacing: this.flags.replace },
    );
    const workspaceKey = encodeWorkspaceKey(certificate.workspaceKey);
    this.report(
      `Installed the certificate of agent ${identity.label} from workspace key ${workspaceKey}. From now on this agent accepts only peers certified by that key (and verified peers of other workspaces).`,
    );
    return {
      agentId: identity.agentId,
      workspaceKey,
      issuedAt: certificate.issuedAt,
      previousWorkspaceKey: previous === undefined ? null : encodeWorkspaceKey(previous.workspaceKey),
    };
  }
}
