import { rm } from "node:fs/promises";
import { BaseCommand } from "../../cli/base-command.js";
import { withFileLock } from "../../config/file-lock.js";

/** What `connect workspace-key remove --json` returns. */
export interface RemovedCertificateResult {
  isRemoved: boolean;
}

export default class WorkspaceKeyRemove extends BaseCommand<typeof WorkspaceKeyRemove> {
  static override summary = "remove this agent's certificate: peers are held to their pins only again";
  static override description =
    "Deletes workspace-certificate.json. This agent then stops presenting a certificate (so agents that require one refuse it) and stops requiring one of its peers, whose keys are checked against their pins as without a workspace key. A running agent picks it up on its next stream.";
  static override enableJsonFlag = true;
  static override examples = ["<%= config.bin %> workspace-key remove", "<%= config.bin %> workspace-key remove --json"];

  async run(): Promise<RemovedCertificateResult> {
    const path = this.paths.workspaceCertificate;
    const isRemoved = await withFileLock(path, async () =>
      rm(path).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return false;
          throw error;
        },
      ),
    );
    this.report(
      isRemoved ? `Removed ${path}: this agent no longer requires certified peers` : `No certificate was installed in ${path}`,
    );
    return { isRemoved };
  }
}
