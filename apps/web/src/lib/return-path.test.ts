import { describe, expect, it } from "vitest";
import { safeReturnPath } from "./return-path";

describe("the path to return to after sign-in", () => {
  it("keeps paths of this site", () => {
    expect(safeReturnPath("/device?code=ABCD-EFGH")).toBe("/device?code=ABCD-EFGH");
    expect(safeReturnPath("/w/acme/shares")).toBe("/w/acme/shares");
  });

  it("refuses anything that leads to another site", () => {
    for (const path of ["//evil.example/x", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "", "/\nx"]) {
      expect(safeReturnPath(path)).toBeUndefined();
    }
    expect(safeReturnPath(undefined)).toBeUndefined();
  });
});
