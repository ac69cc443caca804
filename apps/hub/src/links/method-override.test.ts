import { describe, expect, it } from "vitest";
import { findForbiddenOverride, findMethodOverrides } from "./method-override.js";

const GET_HEAD = ["GET", "HEAD"];

describe("findForbiddenOverride: a restricted link holds method overrides to its list", () => {
  it.each([
    [["X-HTTP-Method-Override", "DELETE"], "/x"],
    [["x-method-override", "put"], "/x"],
    [["X-HTTP-Method", " Patch "], "/x"],
    [["X_HTTP_METHOD_OVERRIDE", "DELETE"], "/x"],
    [["X-HTTP-Method-Override", "GET, DELETE"], "/x"],
    [["X-HTTP-Method-Override", "GET", "X-HTTP-Method-Override", "DELETE"], "/x"],
    [[], "/x?_method=DELETE"],
    [[], "/x?a=1&_METHOD=put"],
  ])("refuses %j on %s", (headers, target) => {
    expect(findForbiddenOverride(headers, target, GET_HEAD)).toBeDefined();
  });

  it("lets through overrides naming an allowed method, and anything on an unrestricted link", () => {
    expect(findForbiddenOverride(["X-HTTP-Method-Override", "head"], "/x?_method=GET", GET_HEAD)).toBeUndefined();
    expect(findForbiddenOverride(["X-Other", "DELETE"], "/x?method=DELETE", GET_HEAD)).toBeUndefined();
    expect(findForbiddenOverride(["X-HTTP-Method-Override", "DELETE"], "/x?_method=PUT", [])).toBeUndefined();
  });

  it("says where the override came from, for the 405's message", () => {
    expect(findMethodOverrides(["X-HTTP-Method", "delete"], "/?_method=put")).toEqual([
      { source: "the X-HTTP-Method header", method: "DELETE" },
      { source: "the _method parameter", method: "PUT" },
    ]);
  });
});
