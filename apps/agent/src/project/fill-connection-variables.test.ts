import { describe, expect, it } from "vitest";
import { fillConnectionVariables, type ProjectFile } from "./index.js";
import { fillUrlTemplate, findUrlTemplateProblem } from "./url-template.js";

const project: ProjectFile = {
  path: "/repo/pconnect.yml",
  services: [
    { name: "prod-db", port: 5432, env: "DATABASE_URL", url: "postgresql://app@{host}:{port}/app?port={port}" },
    { name: "cache", port: 6379, env: "REDIS_ADDR" },
    { name: "api", port: 8080 },
  ],
};

describe("fillConnectionVariables", () => {
  it("fills the template, or HOST:PORT without one, and skips services without env", () => {
    expect(fillConnectionVariables(project)).toEqual([
      { service: "prod-db", name: "DATABASE_URL", value: "postgresql://app@127.0.0.1:5432/app?port=5432" },
      { service: "cache", name: "REDIS_ADDR", value: "127.0.0.1:6379" },
    ]);
  });

  it("uses the ports shifted by --port-offset", () => {
    expect(fillConnectionVariables(project, 10000).map((variable) => variable.value)).toEqual([
      "postgresql://app@127.0.0.1:15432/app?port=15432",
      "127.0.0.1:16379",
    ]);
  });
});

describe("url templates", () => {
  it("replace text only: nothing in a template is run or looked up", () => {
    expect(fillUrlTemplate("x://{host}/$HOME/%41", { host: "h", port: "1" })).toBe("x://h/$HOME/%41");
    expect(findUrlTemplateProblem("redis://{host}:{port}/0")).toBeUndefined();
    expect(findUrlTemplateProblem("redis://{HOST}:{port}")).toMatch(/unknown placeholder \{HOST\}/);
    expect(findUrlTemplateProblem("redis://{}:{port}")).toMatch(/unknown placeholder \{\}/);
    expect(findUrlTemplateProblem("a`b")).toMatch(/must not contain "`"/);
    expect(findUrlTemplateProblem("")).toBe("must not be empty");
    expect(findUrlTemplateProblem("x".repeat(3000))).toMatch(/at most 2048/);
  });
});
