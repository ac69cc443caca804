import { describe, expect, it } from "vitest";
import type { ProjectFile } from "../project/index.js";
import { planReaches } from "./plan-reaches.js";

const project: ProjectFile = {
  path: "/repo/pconnect.yml",
  services: [
    { name: "prod-db", port: 5432, env: "DATABASE_URL" },
    { name: "cache", port: 6379, from: "partner" },
  ],
};

describe("planReaches", () => {
  it("binds every service on its port, shifted by the offset, on loopback", () => {
    expect(planReaches(project, 10000, [], undefined)).toEqual([
      expect.objectContaining({
        reach: { service: "prod-db", host: "127.0.0.1", port: 15432 },
        isPresent: false,
        isMadeByDev: true,
      }),
      expect.objectContaining({
        reach: { service: "cache", from: "partner", host: "127.0.0.1", port: 16379 },
        isPresent: false,
        isMadeByDev: true,
      }),
    ]);
  });

  it("uses a reach already on that port, and keeps one the user made as theirs", () => {
    const existing = [{ service: "prod-db", host: "127.0.0.1", port: 5432 }];
    const [db] = planReaches(project, 0, existing, undefined);
    expect(db).toMatchObject({ isPresent: true, isMadeByDev: false });
    const session = {
      projectFile: project.path,
      reaches: [{ service: "prod-db", host: "127.0.0.1", port: 5432 }],
      updatedAt: "",
    };
    expect(planReaches(project, 0, existing, session)[0]).toMatchObject({ isPresent: true, isMadeByDev: true });
  });

  it("refuses a reach of the service on another port, and an offset out of range", () => {
    const existing = [{ service: "cache", from: "partner", host: "127.0.0.1", port: 7000 }];
    expect(() => planReaches(project, 0, existing, undefined)).toThrow(
      "cache is already reached on 127.0.0.1:7000, not on 127.0.0.1:6379 as /repo/pconnect.yml asks: stop that reach with connect reach --stop cache --from partner",
    );
    // Dev's own reach from a run with other ports: stop that run first, whatever the offset says.
    const earlier = {
      projectFile: project.path,
      reaches: [{ service: "prod-db", host: "127.0.0.1", port: 5432 }],
      updatedAt: "",
    };
    expect(() => planReaches(project, 1, [{ service: "prod-db", host: "127.0.0.1", port: 5432 }], earlier)).toThrow(
      "prod-db is still reached on 127.0.0.1:5432 by an earlier connect dev for /repo/pconnect.yml: run connect dev --stop first",
    );
    expect(() => planReaches(project, 60000, [], undefined)).toThrow(
      "--port-offset 60000 moves cache's port 6379 to 66379, outside 1-65535",
    );
  });
});
