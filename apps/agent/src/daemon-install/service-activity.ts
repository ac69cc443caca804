import { COMMAND_NOT_FOUND, describeFailure } from "./command-runner.js";
import { type DaemonHost, type ServiceLocation, systemctlArgs } from "./daemon-host.js";

export interface ServiceActivity {
  /** systemctl is-active's word (active, inactive, failed, activating...), or "unknown". */
  active: string;
  /** systemctl is-enabled's word (enabled, disabled...), launchd's loaded / not loaded, or "unknown". */
  enabled: string;
  /** Why the service manager could not be asked, when it could not. */
  problem?: string;
}

/** The service manager's view of the service: running or not, started at boot/login or not. */
export async function readServiceActivity(host: DaemonHost, location: ServiceLocation): Promise<ServiceActivity> {
  if (location.manager === "launchd") {
    const args = ["list", location.unitName];
    const listed = await host.runner("launchctl", args);
    if (listed.exitCode === COMMAND_NOT_FOUND) return { active: "unknown", enabled: "unknown", problem: "launchctl not found" };
    if (listed.exitCode !== 0) return { active: "inactive", enabled: "not loaded" };
    // launchctl list LABEL prints a dictionary; "PID" = N; is there only while the job runs.
    return { active: /"PID"\s*=\s*\d+/.test(listed.stdout) ? "active" : "inactive", enabled: "loaded" };
  }
  const ask = async (verb: string): Promise<{ word: string; problem?: string }> => {
    const args = systemctlArgs(location.scope, verb, location.unitName);
    const result = await host.runner("systemctl", args);
    if (result.exitCode === COMMAND_NOT_FOUND) return { word: "unknown", problem: "systemctl not found" };
    // is-active and is-enabled answer a word on stdout and set a non-zero exit for "no".
    const word = result.stdout.trim().split("\n")[0] ?? "";
    if (/^[a-z-]+$/.test(word)) return { word };
    return { word: "unknown", problem: describeFailure("systemctl", args, result) };
  };
  const active = await ask("is-active");
  const enabled = await ask("is-enabled");
  const problem = active.problem ?? enabled.problem;
  return { active: active.word, enabled: enabled.word, ...(problem === undefined ? {} : { problem }) };
}
