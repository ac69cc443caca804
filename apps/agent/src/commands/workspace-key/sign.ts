import { Args } from "@oclif/core";
import { escapeUnprintable } from "@private-connect/protocol";
import { BaseCommand } from "../../cli/base-command.js";
import { fingerprintKeyBytes } from "../../e2e/safety-number.js";
import { decodeRequest, encodeCertificate, signCertificate } from "../../e2e/workspace-certificate.js";
import { readWorkspaceSigningKey } from "../../e2e/workspace-signing-key.js";
import { keyFileFlag } from "./create.js";

/** What `connect workspace-key sign --json` returns. */
export interface SignedCertificate {
  certificate: string;
  agentId: string;
  label: string;
  workspaceId: string;
  fingerprint: string;
  issuedAt: string;
}

export default class WorkspaceKeySign extends BaseCommand<typeof WorkspaceKeySign> {
  static override summary = "sign an agent's certificate request with the workspace key on this machine";
  static override description =
    "Takes the pcreq_ line connect workspace-key request printed on the agent's machine, shows whom it names, and prints the pccert_ line to install there with connect workspace-key install. Sign only requests that reached you without passing through the hub: the certificate says the key in it is that agent's, and every certified agent will believe it. Nothing is sent anywhere.";
  static override enableJsonFlag = true;
  static override args = {
    request: Args.string({ description: "the pcreq_ line from connect workspace-key request", required: true }),
  };
  static override flags = { "key-file": keyFileFlag };
  static override examples = [
    "<%= config.bin %> workspace-key sign pcreq_eyJ2IjoxLCJ3b3Jrc3BhY2VJZCI6...",
    '<%= config.bin %> workspace-key sign "$(cat laptop.req)" --key-file ~/keys/acme-workspace-key.json --json',
  ];

  async run(): Promise<SignedCertificate> {
    const key = await readWorkspaceSigningKey(this.flags["key-file"] ?? this.paths.workspaceSigningKey);
    const request = decodeRequest(this.args.request);
    const certificate = signCertificate(key.privateKey, request, new Date());
    const text = encodeCertificate(certificate);
    const fingerprint = fingerprintKeyBytes(request.agentKey);
    if (!this.jsonEnabled()) {
      this.logToStderr(
        escapeUnprintable(
          `Certified agent ${request.label} (${request.agentId}) of workspace ${request.workspaceName} (${request.workspaceId}), key fingerprint ${fingerprint}. Install this line there with connect workspace-key install:`,
        ),
      );
      this.log(text);
    }
    return {
      certificate: text,
      agentId: request.agentId,
      label: request.label,
      workspaceId: request.workspaceId,
      fingerprint,
      issuedAt: certificate.issuedAt,
    };
  }
}
