import { createRevocations } from "@private-connect/api";
import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { type Cut, createLinkCuts } from "./link-cuts.js";

const log = createLogger("silent");
const HOUR_MS = 3_600_000;

function setUp() {
  const revocations = createRevocations();
  const cuts = createLinkCuts({ revocations, log, now: Date.now });
  const revoke = (linkId: string) => revocations.publish({ kind: "link", linkId, workspaceId: "w" });
  return { cuts, revoke };
}

/** Tracks a request and resolves with why it was cut. */
function trackUntilCut(cuts: ReturnType<typeof setUp>["cuts"], id: string, expiresAt: Date) {
  let forget: () => void = () => {};
  const cut = new Promise<Cut>((resolve) => {
    forget = cuts.track({ id, expiresAt }, resolve);
  });
  return { cut, forget };
}

describe("createLinkCuts", () => {
  it("cuts every request in flight of a revoked link, and only that link's", async () => {
    const { cuts, revoke } = setUp();
    const later = new Date(Date.now() + HOUR_MS);
    const first = trackUntilCut(cuts, "a", later);
    const second = trackUntilCut(cuts, "a", later);
    const other: Cut[] = [];
    cuts.track({ id: "b", expiresAt: later }, (why) => other.push(why));
    revoke("a");
    expect(await first.cut).toBe("revoked");
    expect(await second.cut).toBe("revoked");
    expect(other).toEqual([]);
    cuts.close();
  });

  it("cuts a request admitted just before the revocation and tracked after it", async () => {
    const { cuts, revoke } = setUp();
    revoke("late");
    expect(await trackUntilCut(cuts, "late", new Date(Date.now() + HOUR_MS)).cut).toBe("revoked");
    cuts.close();
  });

  it("cuts a request when its link expires", async () => {
    const { cuts } = setUp();
    expect(await trackUntilCut(cuts, "soon", new Date(Date.now() + 50)).cut).toBe("expired");
    cuts.close();
  });

  it("leaves a forgotten request alone, and hears no revocation once closed", () => {
    const { cuts, revoke } = setUp();
    const seen: Cut[] = [];
    const forget = cuts.track({ id: "done", expiresAt: new Date(Date.now() + HOUR_MS) }, (why) => seen.push(why));
    forget();
    revoke("done");
    cuts.close();
    cuts.track({ id: "closed", expiresAt: new Date(Date.now() + HOUR_MS) }, (why) => seen.push(why));
    revoke("closed");
    expect(seen).toEqual([]);
  });
});
