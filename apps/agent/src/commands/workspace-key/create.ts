import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import { createWorkspaceSigningKey } from "../../e2e/workspace-signing-key.js";

/** What `connect workspace-key create --json` returns. */
export interface CreatedWorkspaceKey {
  keyFile: string;
  /** The public half (pcwk_...): the one part of it that may be shown to anyone. */
  workspaceKey: string;
  createdAt: string;
}

/** The --key-file every workspace-key command on the owner's machine takes. */
export const keyFileFlag = Flags.string({
  summary: "File that holds the workspace key (default: workspace-signing-key.json in the config directory).",
  helpValue: "PATH",
});

export default class WorkspaceKeyCreate extends BaseCommand<typeof WorkspaceKeyCreate> {
  static override summary = "make a workspace key on this (an owner's) machine, to certify the workspace's agents";
  static override description = [
    "Pinning keys on first contact trusts the hub at that first stream. A workspace key removes that trust: it is made here and never leaves this machine (the hub never sees it), it signs a certificate for each agent's end-to-end key, and an agent with its certificate installed accepts only peers of the workspace that hold one from the same key, so a hub handing out a key of its own for an agent is refused even on the first stream.",
    "Keep the file like an SSH private key: back it up, and do not copy it to the agents. Then, for each agent: connect workspace-key request there, connect workspace-key sign here, connect workspace-key install there.",
  ].join("\n\n");
  static override enableJsonFlag = true;
  static override flags = { "key-file": keyFileFlag };
  static override examples = [
    "<%= config.bin %> workspace-key create",
    "<%= config.bin %> workspace-key create --key-file ~/keys/acme-workspace-key.json",
  ];

  async run(): Promise<CreatedWorkspaceKey> {
    const keyFile = this.flags["key-file"] ?? this.paths.workspaceSigningKey;
    const key = await createWorkspaceSigningKey(keyFile);
    this.report([
      `Made a workspace key in ${keyFile} (owner-only; back it up, never copy it to the agents).`,
      `Its public half: ${key.publicKeyText}`,
      "Next, for each agent: run connect workspace-key request on its machine, sign what it prints here with connect workspace-key sign, and install the certificate there with connect workspace-key install.",
    ]);
    return { keyFile, workspaceKey: key.publicKeyText, createdAt: key.createdAt };
  }
}
