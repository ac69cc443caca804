import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { readPackageVersion } from "./package-version.js";

function manifestAt(content: string): URL {
  const path = join(mkdtempSync(join(tmpdir(), "pc-version-")), "package.json");
  writeFileSync(path, content);
  return pathToFileURL(path);
}

describe("readPackageVersion", () => {
  it("reads the version of the package it was asked for", () => {
    const url = manifestAt(JSON.stringify({ name: "@private-connect/hub", version: "1.2.3" }));
    expect(readPackageVersion(url, "@private-connect/hub")).toBe("1.2.3");
  });

  it("refuses another package's manifest, one without a version, and a missing or broken file, saying to reinstall", () => {
    const other = manifestAt(JSON.stringify({ name: "left-pad", version: "1.0.0" }));
    expect(() => readPackageVersion(other, "@private-connect/hub")).toThrow(
      /is not the package\.json of @private-connect\/hub: reinstall/,
    );
    const versionless = manifestAt(JSON.stringify({ name: "@private-connect/hub" }));
    expect(() => readPackageVersion(versionless, "@private-connect/hub")).toThrow(/not the package\.json/);
    const broken = manifestAt("{ not json");
    expect(() => readPackageVersion(broken, "@private-connect/hub")).toThrow(/^Cannot read .*reinstall @private-connect\/hub$/);
    const missing = pathToFileURL(join(tmpdir(), "pc-no-such-dir", "package.json"));
    expect(() => readPackageVersion(missing, "@private-connect/agent")).toThrow(/^Cannot read .*ENOENT/);
  });
});
