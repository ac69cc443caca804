import { describe, expect, it } from "vitest";
import type { AgentService } from "./agent-service.js";
import { readPlistConfigDir, renderLaunchdPlist, toLaunchdLabel } from "./launchd-plist.js";

const SERVICE: AgentService = {
  name: "private-connect-agent-laptop",
  nodePath: "/opt/homebrew/bin/node",
  scriptPath: "/Users/alice/private-connect/apps/agent/bin/run.js",
  configDir: "/Users/alice/.private-connect-laptop",
  logPath: "/Users/alice/.private-connect-laptop/agent.log",
  environment: { CONNECT_ALLOW_INSECURE: "true" },
};

const PLIST = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by connect daemon install; remove it with connect daemon uninstall. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>com.privateconnect.agent-laptop</string>
  <key>ProgramArguments</key>
  <array>
    <string>/opt/homebrew/bin/node</string>
    <string>/Users/alice/private-connect/apps/agent/bin/run.js</string>
    <string>up</string>
    <string>--config</string>
    <string>/Users/alice/.private-connect-laptop</string>
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>CONNECT_ALLOW_INSECURE</key>
    <string>true</string>
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>10</integer>
  <key>ProcessType</key>
  <string>Background</string>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>/Users/alice/.private-connect-laptop/agent.log</string>
  <key>StandardErrorPath</key>
  <string>/Users/alice/.private-connect-laptop/agent.log</string>
</dict>
</plist>
`;

describe("renderLaunchdPlist", () => {
  it("writes a LaunchAgent that runs connect up for the config directory and restarts it after a failure", () => {
    expect(toLaunchdLabel("private-connect-agent")).toBe("com.privateconnect.agent");
    expect(renderLaunchdPlist(SERVICE)).toBe(PLIST);
    expect(readPlistConfigDir(PLIST)).toBe("/Users/alice/.private-connect-laptop");
  });

  it("escapes XML in paths and reads them back", () => {
    const odd = { ...SERVICE, configDir: "/Users/a&b/<pc>", logPath: "/Users/a&b/<pc>/agent.log", environment: {} };
    const plist = renderLaunchdPlist(odd);
    expect(plist).toContain("<string>/Users/a&amp;b/&lt;pc&gt;</string>");
    expect(plist).not.toContain("EnvironmentVariables");
    expect(readPlistConfigDir(plist)).toBe("/Users/a&b/<pc>");
  });
});
