import { describe, expect, it } from "vitest";
import { isPossiblyCloned } from "./relay-cluster.js";

describe("isPossiblyCloned", () => {
  it("trusts the agents' process ids when both said one", () => {
    expect(isPossiblyCloned({ ip: "10.0.0.1", instance: "a" }, { ip: "10.0.0.2", instance: "a" })).toBe(false);
    expect(isPossiblyCloned({ ip: "10.0.0.1", instance: "a" }, { ip: "10.0.0.1", instance: "b" })).toBe(true);
  });

  it("falls back to the address for agents too old to say", () => {
    expect(isPossiblyCloned({ ip: "10.0.0.1" }, { ip: "10.0.0.1", instance: "b" })).toBe(false);
    expect(isPossiblyCloned({ ip: "10.0.0.1", instance: "a" }, { ip: "10.0.0.9" })).toBe(true);
  });
});
