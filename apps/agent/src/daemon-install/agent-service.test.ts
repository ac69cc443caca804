import { describe, expect, it } from "vitest";
import { resolveServiceName } from "./agent-service.js";

describe("resolveServiceName", () => {
  const homeDir = "/home/alice";

  it("names the default config directory's service plainly and others after their directory", () => {
    expect(resolveServiceName({ configDir: "/home/alice/.private-connect", homeDir })).toBe("private-connect-agent");
    expect(resolveServiceName({ configDir: "/home/alice/.private-connect-laptop", homeDir })).toBe(
      "private-connect-agent-laptop",
    );
    expect(resolveServiceName({ configDir: "/srv/agents/Prod DB", homeDir })).toBe("private-connect-agent-prod-db");
  });

  it("uses a short hash of the path when the directory's name gives nothing usable", () => {
    const name = resolveServiceName({ configDir: "/srv/.private-connect", homeDir });
    expect(name).toMatch(/^private-connect-agent-[0-9a-f]{8}$/);
    expect(resolveServiceName({ configDir: "/srv/other/.private-connect", homeDir })).not.toBe(name);
  });

  it("takes --name, and refuses one a unit name cannot carry", () => {
    expect(resolveServiceName({ configDir: "/x", homeDir, requested: "Edge-1" })).toBe("private-connect-agent-edge-1");
    expect(() => resolveServiceName({ configDir: "/x", homeDir, requested: "../etc" })).toThrow(/not usable in a service name/);
  });
});
