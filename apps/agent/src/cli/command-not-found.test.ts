import { describe, expect, it } from "vitest";
import { suggestCommand } from "./command-not-found.js";

const ids = ["share", "share:list", "share:revoke", "services", "status", "reach", "join", "join:list", "link", "link:list"];

describe("suggestCommand", () => {
  it("names the command a typo most likely meant, within a topic too", () => {
    expect(suggestCommand("shrae", ids)).toBe("share");
    expect(suggestCommand("staus", ids)).toBe("status");
    expect(suggestCommand("servics", ids)).toBe("services");
    expect(suggestCommand("share:lst", ids)).toBe("share:list");
    expect(suggestCommand("link:lsit", ids)).toBe("link:list");
  });

  it("suggests nothing for a word that is no near miss", () => {
    expect(suggestCommand("frobnicate", ids)).toBeUndefined();
    expect(suggestCommand("deploy", ids)).toBeUndefined();
  });
});
