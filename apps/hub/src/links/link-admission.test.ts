import { describe, expect, it } from "vitest";
import { checkLinkRequest } from "./link-admission.js";

describe("checkLinkRequest", () => {
  const readOnly = { methods: ["GET", "HEAD"], paths: ["/api"] };

  it("passes an allowed method on an allowed path, normalized for the service", () => {
    expect(checkLinkRequest(readOnly, "GET", [], "/api//v1/./x?q=1")).toEqual({
      kind: "allowed",
      path: "/api/v1/x",
      forwardTarget: "/api/v1/x?q=1",
    });
  });

  it("refuses another method with 405 and Allow, a method override in a POST too", () => {
    expect(checkLinkRequest(readOnly, "DELETE", [], "/api")).toEqual({
      kind: "refused",
      status: 405,
      message: "Method not allowed: this link accepts GET, HEAD.",
      headers: { allow: "GET, HEAD" },
    });
    const overridden = checkLinkRequest(
      { methods: ["GET", "POST"], paths: [] },
      "POST",
      ["X-HTTP-Method-Override", "DELETE"],
      "/",
    );
    expect(overridden).toMatchObject({ kind: "refused", status: 405, headers: { allow: "GET, POST" } });
    expect(overridden.kind === "refused" && overridden.message).toContain("asks for DELETE");
  });

  it("refuses a path outside the link's prefixes with 403", () => {
    expect(checkLinkRequest(readOnly, "GET", [], "/admin")).toMatchObject({ kind: "refused", status: 403 });
  });
});
