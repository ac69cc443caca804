import { type AgentService, buildAgentArguments } from "./agent-service.js";
import { assertWritableInServiceFile } from "./systemd-syntax.js";

export const LAUNCHD_LABEL_PREFIX = "com.privateconnect.";

function escapeXml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** com.privateconnect.agent, or com.privateconnect.agent-<suffix>: launchd's name for the service. */
export function toLaunchdLabel(serviceName: string): string {
  return `${LAUNCHD_LABEL_PREFIX}${serviceName.replace(/^private-connect-/, "")}`;
}

/**
 * The LaunchAgent that keeps `connect up` running for one config directory. Pure, so tests pin
 * it. KeepAlive with SuccessfulExit=false restarts it after a failure (not after connect down),
 * ThrottleInterval spaces the restarts.
 */
export function renderLaunchdPlist(service: AgentService): string {
  for (const path of [service.nodePath, service.scriptPath, service.configDir, service.logPath]) {
    assertWritableInServiceFile(path, "path");
  }
  const string = (value: string) => `<string>${escapeXml(value)}</string>`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    "<!-- Written by connect daemon install; remove it with connect daemon uninstall. -->",
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  ${string(toLaunchdLabel(service.name))}`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...buildAgentArguments(service).map((argument) => `    ${string(argument)}`),
    "  </array>",
  ];
  const environment = Object.entries(service.environment);
  if (environment.length > 0) {
    lines.push("  <key>EnvironmentVariables</key>", "  <dict>");
    for (const [key, value] of environment) lines.push(`    <key>${escapeXml(key)}</key>`, `    ${string(value)}`);
    lines.push("  </dict>");
  }
  lines.push(
    "  <key>RunAtLoad</key>",
    "  <true/>",
    "  <key>KeepAlive</key>",
    "  <dict>",
    "    <key>SuccessfulExit</key>",
    "    <false/>",
    "  </dict>",
    "  <key>ThrottleInterval</key>",
    "  <integer>10</integer>",
    "  <key>ProcessType</key>",
    "  <string>Background</string>",
    // 0077, in decimal as plists want it: the log and the files the agent creates stay private.
    "  <key>Umask</key>",
    "  <integer>63</integer>",
    "  <key>StandardOutPath</key>",
    `  ${string(service.logPath)}`,
    "  <key>StandardErrorPath</key>",
    `  ${string(service.logPath)}`,
    "</dict>",
    "</plist>",
    "",
  );
  return lines.join("\n");
}

/** The config directory an installed plist runs for: the argument after --config. */
export function readPlistConfigDir(text: string): string | undefined {
  const match = /<string>--config<\/string>\s*<string>([^<]*)<\/string>/.exec(text);
  if (match?.[1] === undefined) return undefined;
  return match[1]
    .replace(/&quot;/g, '"')
    .replace(/&gt;/g, ">")
    .replace(/&lt;/g, "<")
    .replace(/&amp;/g, "&");
}
